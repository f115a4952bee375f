-- Units left of a flash sale: its units minus its takers; -1 when unknown.
-- KEYS[1]: the sale; KEYS[2]: its takers.
local units = redis.call('HGET', KEYS[1], 'units')
if not units then
  return -1
end
local left = tonumber(units) - redis.call('HLEN', KEYS[2])
if left < 0 then
  return 0
end
return left
