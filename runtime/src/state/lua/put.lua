-- One write to a state cell, applied only if the cell is still at the version the writer
-- computed the value from and the writer's token fences the lock named after the cell.
-- KEYS[1]: the cell, a hash of `n` (its version) and `v` (its value, JSON)
-- KEYS[2]: the live leases of the lock, a sorted set of `x:TOKEN` / `s:TOKEN` by end (ms)
-- KEYS[3]: the last token given out for the lock
-- ARGV[1]: the version the value was computed from; ARGV[2]: the value (JSON);
-- ARGV[3]: the writer's token, or '' for none
-- Returns {'ok', version} | {'moved', version, value} | {'fenced', version, value, holder, last}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cell = redis.call('HMGET', KEYS[1], 'n', 'v')
local version = tonumber(cell[1]) or 0
local value = cell[2] or ''
if version ~= tonumber(ARGV[1]) then
  return {'moved', tostring(version), value}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local holder = ''
for _, lease in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if string.sub(lease, 1, 2) == 'x:' then
    holder = string.sub(lease, 3)
  end
end
if ARGV[3] ~= holder then
  return {'fenced', tostring(version), value, holder, redis.call('GET', KEYS[3]) or '0'}
end
redis.call('HSET', KEYS[1], 'n', version + 1, 'v', ARGV[2])
return {'ok', tostring(version + 1)}
