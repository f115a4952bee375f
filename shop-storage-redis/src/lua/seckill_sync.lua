-- Loads a flash sale, or makes it agree with the database.
-- KEYS[1]: the sale (hash: units, starts, ends, expire; times in ms of the
--   shop's clock)
-- KEYS[2]: its takers (hash: buyer id -> time taken, ms)
-- ARGV[1]: mode, 'load' (only when unknown) or 'reconcile'
-- ARGV[2]: units (the database's stock plus its buyers)
-- ARGV[3], ARGV[4]: start and end (ms); ARGV[5]: when the keys expire (ms)
-- ARGV[6]: now (ms); ARGV[7]: takers before this time (ms) that the
--   database has no buyer for are given back
-- ARGV[8..]: the database's buyers
-- Returns {loaded, returned, added}.
local known = redis.call('EXISTS', KEYS[1]) == 1
if known and ARGV[1] == 'load' then
  return {0, 0, 0}
end
if not known then
  redis.call('DEL', KEYS[2])
end
redis.call('HSET', KEYS[1], 'units', ARGV[2], 'starts', ARGV[3], 'ends', ARGV[4],
  'expire', ARGV[5])
-- The keys live until `expire` by the shop's clock, at least an hour.
local ttl = math.max(3600, math.floor((tonumber(ARGV[5]) - tonumber(ARGV[6])) / 1000))
redis.call('EXPIRE', KEYS[1], ttl)
local buyers = {}
for i = 8, #ARGV do
  buyers[ARGV[i]] = true
end
local returned = 0
if known then
  local before = tonumber(ARGV[7])
  local takers = redis.call('HGETALL', KEYS[2])
  for i = 1, #takers, 2 do
    if not buyers[takers[i]] and tonumber(takers[i + 1]) < before then
      redis.call('HDEL', KEYS[2], takers[i])
      returned = returned + 1
    end
  end
end
local added = 0
for buyer, _ in pairs(buyers) do
  added = added + redis.call('HSETNX', KEYS[2], buyer, ARGV[6])
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('EXPIRE', KEYS[2], ttl)
end
if known then
  return {0, returned, added}
end
return {1, 0, 0}
