-- Claims a submit token for a placement: the compare-and-set of
-- SubmitTokenStore::claim_submit_token.
-- KEYS[1] the token's hash
-- ARGV[1] user id, ARGV[2] the order id wanted, ARGV[3] the request's
-- fingerprint, ARGV[4] now (ms), ARGV[5] claims at or before this (ms)
-- are stale
-- Returns {'unusable'} | {'placed', order, fp} | {'pending', order, fp}
-- | {'claimed', order, resumed (0|1)}.
local t = redis.call('HMGET', KEYS[1], 'u', 'exp', 'o', 'fp', 'at', 'used')
if not t[1] or t[1] ~= ARGV[1] then
  return {'unusable'}
end
if t[6] then
  return {'placed', t[3], t[4]}
end
if tonumber(t[2]) <= tonumber(ARGV[4]) then
  return {'unusable'}
end
if t[5] then
  if tonumber(t[5]) > tonumber(ARGV[5]) then
    return {'pending', t[3], t[4]}
  end
  redis.call('HSET', KEYS[1], 'fp', ARGV[3], 'at', ARGV[4])
  return {'claimed', t[3], '1'}
end
redis.call('HSET', KEYS[1], 'o', ARGV[2], 'fp', ARGV[3], 'at', ARGV[4])
return {'claimed', ARGV[2], '0'}
