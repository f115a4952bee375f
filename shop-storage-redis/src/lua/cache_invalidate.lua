-- Drops a cached value and moves its version on.
-- KEYS[1]: the value; KEYS[2]: the version; ARGV[1]: how long the version
-- is kept (s), longer than any read that could still be in flight
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
