-- Removes a job (done).
-- KEYS[1]: due times; KEYS[2]: payloads; ARGV[1]: job id
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
