-- Records the result of one send attempt of a claimed reminder. The claim token fences it:
-- if the lease ran out and another engine re-claimed the reminder, this result is ignored.
-- KEYS: sched, outbox
-- ARGV: base, rid, token, now_ms, now_iso, result (sent|retry|failed), provider,
--       provider_message_id, reason, next_attempt_ms, max_attempts, retention_ms
-- Returns the outcome status written ('' when nothing was written, 'fenced' when ignored).
local sched, outbox = KEYS[1], KEYS[2]
local base, rid, token = ARGV[1], ARGV[2], ARGV[3]
local at, result = ARGV[5], ARGV[6]
local next_at, max_attempts = tonumber(ARGV[10]), tonumber(ARGV[11])
local retention = tonumber(ARGV[12])

local rk = base .. 'r:' .. rid
local r = redis.call('HMGET', rk, 'state', 'tok', 'ver', 'lh', 'st', 'ch', 'attempt', 'eid', 'exp')
if r[1] ~= 'claimed' or r[2] ~= token then return 'fenced' end
local lk = base .. 'l:' .. r[4]
local l = redis.call('HMGET', lk, 'v', 'program', 'lid')
local ev = {eid = r[8], program = l[2], lid = l[3], provider = ARGV[7], pmid = ARGV[8]}
local key = (l[2] or '') .. '/' .. (l[3] or '')
local attempt = tonumber(r[7])

local function finish(status, reason, done)
  redis.call('DEL', rk)
  redis.call('ZREM', sched, rid)
  if done then mark_done(base, rid, status, retention) end
  emit(outbox, key, outcome(ev, rid, r[5], r[6], status, attempt, reason, at))
  release_payload(base, lk)
  return status
end

if result == 'sent' then
  return finish('sent', '', true)
elseif result == 'failed' then
  return finish('failed', ARGV[9], true)
end
-- retry
if l[1] ~= r[3] then
  return finish('cancelled', 'superseded', false)
elseif attempt >= max_attempts then
  return finish('failed', 'retries exhausted: ' .. ARGV[9], true)
elseif next_at > tonumber(r[9]) then
  return finish('expired', 'retry after expiry: ' .. ARGV[9], true)
end
redis.call('HSET', rk, 'state', 'pending', 'tok', '', 'last', ARGV[9])
redis.call('ZADD', sched, next_at, rid)
return ''
