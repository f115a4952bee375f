-- Takes one unit of a flash sale for a buyer, atomically.
-- KEYS[1]: the sale (hash: units, starts, ends, expire; times in ms of the
--   shop's clock)
-- KEYS[2]: its takers (hash: buyer id -> time taken, ms)
-- ARGV[1]: buyer id; ARGV[2]: now (ms since the epoch)
-- Returns 1 taken, 0 sold out, -1 unknown sale, -2 not started, -3 ended,
-- -4 the buyer holds a unit already.
local sale = redis.call('HMGET', KEYS[1], 'units', 'starts', 'ends', 'expire')
if not sale[1] then
  return -1
end
local now = tonumber(ARGV[2])
if now < tonumber(sale[2]) then
  return -2
end
if now >= tonumber(sale[3]) then
  return -3
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return -4
end
if redis.call('HLEN', KEYS[2]) >= tonumber(sale[1]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
-- The keys live until `expire` by the shop's clock, at least an hour.
redis.call('EXPIRE', KEYS[2], math.max(3600, math.floor((tonumber(sale[4]) - now) / 1000)))
return 1
