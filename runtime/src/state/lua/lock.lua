-- Takes a lease on a lock if it can be held in the mode asked for.
-- KEYS[1]: the live leases, a sorted set of `x:TOKEN` / `s:TOKEN` by end (ms)
-- KEYS[2]: the last token given out
-- ARGV[1]: 'x' (exclusive) or 's' (shared); ARGV[2]: the lease's length in ms
-- Returns {token, 0} once held, or {0, ms until the first live lease ends}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local free = true
for i = 1, #live, 2 do
  if ARGV[1] == 'x' or string.sub(live[i], 1, 2) == 'x:' then
    free = false
  end
end
if free then
  local token = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1] .. ':' .. token)
  return {token, 0}
end
return {0, tonumber(live[2]) - now}
