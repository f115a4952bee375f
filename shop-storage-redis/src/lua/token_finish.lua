-- Ends a claim on a submit token: consumed by its order (ARGV[3] = 'finish')
-- or given back (ARGV[3] = 'release': compare-and-delete of the claim).
-- KEYS[1] the token's hash
-- ARGV[1] user id, ARGV[2] the claim's order id
-- Returns 1 when the token was claimed for that order, else 0.
local t = redis.call('HMGET', KEYS[1], 'u', 'o', 'at', 'used')
if t[1] ~= ARGV[1] or t[2] ~= ARGV[2] or not t[3] or t[4] then
  return 0
end
if ARGV[3] == 'finish' then
  redis.call('HSET', KEYS[1], 'used', '1')
else
  redis.call('HDEL', KEYS[1], 'o', 'fp', 'at')
end
return 1
