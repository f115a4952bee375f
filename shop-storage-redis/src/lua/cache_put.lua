-- Stores a value read after a miss, only while no invalidation came in
-- between (the version is still the one the miss saw).
-- KEYS[1]: the value; KEYS[2]: the version
-- ARGV[1]: the value; ARGV[2]: the version seen; ARGV[3]: time to live (ms)
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
