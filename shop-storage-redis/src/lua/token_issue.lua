-- Issues a checkout submit token: one hash per token.
-- KEYS[1] the token's hash
-- ARGV[1] user id, ARGV[2] expiry (ms since the epoch),
-- ARGV[3] how long the key outlives the expiry (ms)
-- Returns 1, or 0 when the token exists already.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'exp', ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2]) - now
if ttl < 0 then
  ttl = 0
end
redis.call('PEXPIRE', KEYS[1], ttl + tonumber(ARGV[3]))
return 1
