-- A cached value and its key's version.
-- KEYS[1]: the value; KEYS[2]: the version (a counter)
-- Returns {value or false, version}.
return {redis.call('GET', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}
