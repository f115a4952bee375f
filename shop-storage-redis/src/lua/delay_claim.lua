-- Claims the due jobs: each one's due time moves to the end of the lease,
-- so nobody else claims it meanwhile and anybody may after.
-- KEYS[1]: due times; KEYS[2]: payloads
-- ARGV[1]: now (ms); ARGV[2]: lease (ms); ARGV[3]: how many at most
-- Returns id, payload, id, payload, ... earliest first.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local leased = tonumber(ARGV[1]) + tonumber(ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], leased, id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
