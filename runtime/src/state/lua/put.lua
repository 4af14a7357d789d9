-- Writes to one state cell, in order, applied only if the cell is still at the version the
-- writer computed the values from, each only while its token fences the lock named after
-- the cell: the writes up to the first one fenced are applied, the rest are not.
-- KEYS[1]: the cell, a hash of `n` (its version) and `v` (its value, JSON)
-- KEYS[2]: the live leases of the lock, a sorted set of `x:TOKEN` / `s:TOKEN` by end (ms)
-- KEYS[3]: the last token given out for the lock
-- ARGV[1]: the version the values were computed from; then, per write, the cell's value
-- after it (JSON) and the writer's token ('' for none)
-- Returns {'ok', version} | {'moved', version, value} | {'fenced', applied, holder, last}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cell = redis.call('HMGET', KEYS[1], 'n', 'v')
local version = tonumber(cell[1]) or 0
if version ~= tonumber(ARGV[1]) then
  return {'moved', tostring(version), cell[2] or ''}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local holder = ''
for _, lease in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if string.sub(lease, 1, 2) == 'x:' then
    holder = string.sub(lease, 3)
  end
end
local applied = 0
local value = nil
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] ~= holder then
    break
  end
  applied = applied + 1
  value = ARGV[i]
end
if applied > 0 then
  redis.call('HSET', KEYS[1], 'n', version + applied, 'v', value)
end
if applied * 2 == #ARGV - 1 then
  return {'ok', tostring(version + applied)}
end
return {'fenced', tostring(applied), holder, redis.call('GET', KEYS[3]) or '0'}
