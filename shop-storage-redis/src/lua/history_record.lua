-- Records a product view in a buyer's history, keeps the newest entries.
-- KEYS[1]: the history (sorted set: zero-padded product id scored by the
--   view time in microseconds)
-- ARGV[1]: the time; ARGV[2]: the product (zero-padded); ARGV[3]: how many
--   to keep; ARGV[4]: how long an untouched history lives (s)
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
