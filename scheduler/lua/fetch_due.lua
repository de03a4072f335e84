-- Reads (never writes) the records of the licences due by now_ms, high lane first, then
-- normal, then bulk, oldest first within a lane, at most max in all (a licence due in two
-- lanes once); and the earliest score left after them, for the engine to claim with
-- commit.lua.
-- KEYS: schedule_high, schedule_normal, schedule_bulk
-- ARGV: record_key_prefix, now_ms, max
-- Returns {members, values (false when missing), next_score or ''}
local max = tonumber(ARGV[3])
local due, seen = {}, {}
local after, after_text = nil, ''
for lane = 1, 3 do
  local left = max - #due
  local taken = 0
  if left > 0 then
    local got = redis.call('ZRANGEBYSCORE', KEYS[lane], '-inf', ARGV[2], 'LIMIT', 0, left)
    taken = #got
    for _, m in ipairs(got) do
      if not seen[m] then
        seen[m] = true
        due[#due + 1] = m
      end
    end
  end
  local nxt = redis.call('ZRANGE', KEYS[lane], taken, taken, 'WITHSCORES')
  if nxt[2] and (after == nil or tonumber(nxt[2]) < after) then
    after, after_text = tonumber(nxt[2]), nxt[2]
  end
end
local values = {}
if #due > 0 then
  local keys = {}
  for i, m in ipairs(due) do keys[i] = ARGV[1] .. m end
  values = redis.call('MGET', unpack(keys))
end
return {due, values, after_text}
