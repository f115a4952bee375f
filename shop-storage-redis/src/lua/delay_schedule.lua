-- Schedules (or replaces) a delayed job.
-- KEYS[1]: due times (sorted set: job id scored by due time, ms)
-- KEYS[2]: payloads (hash: job id -> payload)
-- ARGV[1]: job id; ARGV[2]: payload; ARGV[3]: due (ms)
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
