-- Writes to one state cell, in order, applied only if the cell is still at the version the
-- writer computed the values from, each only while its token fences the lock named after
-- the cell: the writes up to the first one fenced are applied, the rest are not.
-- KEYS[1]: the cell, a hash of `n` (its version) and `v` (its value, JSON)
-- KEYS[2]: the live leases of the lock, a sorted set of `x:TOKEN` / `s:TOKEN` by end (ms)
-- KEYS[3]: the last token given out for the lock
-- KEYS[4]: the run's journal stream: the applied writes are appended to it as `state` events
-- in the same step, once the run has begun it
-- ARGV[1]: the version the values were computed from; ARGV[2]: the cell's name; then, per
-- write, the cell's value after it (JSON) and the writer's token ('' for none)
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
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] ~= holder then
    break
  end
  applied = applied + 1
  value = ARGV[i]
end
if applied > 0 then
  redis.call('HSET', KEYS[1], 'n', version + applied, 'v', value)
  if redis.call('EXISTS', KEYS[4]) == 1 then
    local lines = {}
    local name = cjson.encode(ARGV[2])
    for j = 1, applied do
      lines[j] = '{"event":"state","key":' .. name .. ',"value":' .. ARGV[1 + 2 * j]
        .. ',"version":' .. tostring(version + j) .. '}'
    end
    redis.call('XADD', KEYS[4], '*', 'events', table.concat(lines, '\n'))
  end
end
if applied * 2 == #ARGV - 2 then
  return {'ok', tostring(version + applied)}
end
return {'fenced', tostring(applied), holder, redis.call('GET', KEYS[3]) or '0'}
