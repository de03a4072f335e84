-- Claims due reminders of one partition with a lease: each claimed reminder's score becomes
-- now + lease, so if this engine dies its claims come due again for whoever owns the
-- partition then. A reminder whose licence changed since it was scheduled is cancelled here,
-- one already done is dropped, one past its expiry ends as `expired`.
-- KEYS: sched, outbox
-- ARGV: base, now_ms, now_iso, lease_ms, max, token, retention_ms
-- Returns {next_due_ms or -1, n, then per claimed reminder 10 fields}
local sched, outbox = KEYS[1], KEYS[2]
local base = ARGV[1]
local now, at, lease = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local max, token, retention = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])

local out = {}
local n = 0
local due = redis.call('ZRANGEBYSCORE', sched, '-inf', now, 'LIMIT', 0, max)
for _, rid in ipairs(due) do
  local rk = base .. 'r:' .. rid
  local r = redis.call('HMGET', rk, 'state', 'ver', 'lh', 'st', 'ch', 'at', 'exp', 'attempt', 'eid')
  if not r[1] then
    redis.call('ZREM', sched, rid)
  else
    local lk = base .. 'l:' .. r[3]
    local l = redis.call('HMGET', lk, 'v', 'program', 'lid', 'p', 'due')
    local ev = {eid = r[9], program = l[2], lid = l[3]}
    local key = (l[2] or '') .. '/' .. (l[3] or '')
    local attempt = tonumber(r[8])
    if l[1] ~= r[2] or not l[4] then
      redis.call('DEL', rk)
      redis.call('ZREM', sched, rid)
      emit(outbox, key, outcome(ev, rid, r[4], r[5], 'cancelled', attempt, 'superseded', at))
      release_payload(base, lk)
    elseif redis.call('EXISTS', base .. 'd:' .. rid) == 1 then
      redis.call('DEL', rk)
      redis.call('ZREM', sched, rid)
      release_payload(base, lk)
    elseif now > tonumber(r[7]) then
      redis.call('DEL', rk)
      redis.call('ZREM', sched, rid)
      mark_done(base, rid, 'expired', retention)
      emit(outbox, key, outcome(ev, rid, r[4], r[5], 'expired', attempt, 'late', at))
      release_payload(base, lk)
    else
      attempt = attempt + 1
      redis.call('HSET', rk, 'state', 'claimed', 'tok', token, 'attempt', attempt)
      redis.call('ZADD', sched, now + lease, rid)
      n = n + 1
      for _, v in ipairs({rid, r[4], r[5], attempt, r[9], l[2], l[3], l[5], l[4], r[6]}) do
        table.insert(out, v)
      end
    end
  end
end
local first = redis.call('ZRANGE', sched, 0, 0, 'WITHSCORES')
local next_due = -1
if first[2] then next_due = tonumber(first[2]) end
local result = {next_due, n}
for _, v in ipairs(out) do table.insert(result, v) end
return result
