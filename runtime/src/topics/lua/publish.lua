-- Publishes one message to a run's topics.
-- KEYS[1]: the run's message stream; KEYS[2]: its last sequence number; KEYS[3]: the key's
-- dedupe marker, or '' without a key or window.
-- ARGV[1]: topic; ARGV[2]: payload (JSON, already checked); ARGV[3]: key or '';
-- ARGV[4]: the dedupe window in ms (0: none); ARGV[5]: the longest retain of the plan's
-- topics in ms (0: some topic keeps its messages for the whole run).
-- Returns {1, id} for a new message, {0, id} for the earlier message carrying the key.
if KEYS[3] ~= '' then
  local prior = redis.call('GET', KEYS[3])
  if prior then
    return {0, prior}
  end
end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local seq = redis.call('INCR', KEYS[2])
local id = ARGV[1] .. ':' .. seq
local retain = tonumber(ARGV[5])
local entry = {'seq', seq, 'topic', ARGV[1], 'id', id, 'payload', ARGV[2], 'at', ms, 'key', ARGV[3]}
if retain > 0 then
  -- Entries past every topic's retain are read by nobody any more.
  redis.call('XADD', KEYS[1], 'MINID', '~', tostring(ms - retain), '*', unpack(entry))
else
  redis.call('XADD', KEYS[1], '*', unpack(entry))
end
if KEYS[3] ~= '' then
  redis.call('SET', KEYS[3], id, 'PX', ARGV[4])
end
return {1, id}
