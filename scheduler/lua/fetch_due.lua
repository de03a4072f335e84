-- Reads (never writes) the records of the licences due by now_ms, oldest first, and the
-- score of the first licence after them, for the engine to claim with commit.lua.
-- KEYS: schedule
-- ARGV: record_key_prefix, now_ms, max
-- Returns {members, values (false when missing), next_score or ''}
local sched = KEYS[1]
local due = redis.call('ZRANGEBYSCORE', sched, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local after = redis.call('ZRANGE', sched, #due, #due, 'WITHSCORES')
local values = {}
if #due > 0 then
  local keys = {}
  for i, m in ipairs(due) do keys[i] = ARGV[1] .. m end
  values = redis.call('MGET', unpack(keys))
end
return {due, values, after[2] or ''}
