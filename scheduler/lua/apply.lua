-- Applies a batch of consumed events of one partition, and stores the partition's next
-- offset in the same atomic step, so schedule state and consumer position can only be lost
-- together. Entries at offsets below the stored one were applied before and are skipped,
-- which makes re-applying a batch (after a lost reply or a Redis fail-over) harmless.
-- KEYS: sched, offsets, outbox
-- ARGV: base, topic, now_ms, now_iso, retention_ms, entry_json...
local sched, offkey, outbox = KEYS[1], KEYS[2], KEYS[3]
local base, topic = ARGV[1], ARGV[2]
local now, at, retention = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local stored = tonumber(redis.call('HGET', offkey, topic) or '-1')
local next_offset = stored
local applied, stale, scheduled = 0, 0, 0

for i = 6, #ARGV do
  local ev = cjson.decode(ARGV[i])
  local off = tonumber(ev.o)
  if off >= stored then
    applied = applied + 1
    if off + 1 > next_offset then next_offset = off + 1 end
    if ev.kind == 'invalid' then
      emit(outbox, ev.key, outcome(ev, '', '', '', 'invalid', 0, ev.reason, at))
    else
      local lk = base .. 'l:' .. ev.lh
      local cur = tonumber(redis.call('HGET', lk, 'v') or '-1')
      if ev.ver <= cur then
        stale = stale + 1
        emit(outbox, ev.key, outcome(ev, '', '', '', 'stale', 0,
             'version ' .. ev.ver .. ' is not newer than ' .. cur, at))
      else
        local keep = {}
        local plan = ev.rem or {}
        for _, r in ipairs(plan) do
          if r.disp == 'schedule' then keep[r.id] = r end
        end
        -- Reminders of the previous version that the new one does not carry any more.
        local old = redis.call('HGET', lk, 'rids')
        if old then
          for rid in string.gmatch(old, '[^,]+') do
            if not keep[rid] then
              local rk = base .. 'r:' .. rid
              local st = redis.call('HMGET', rk, 'state', 'st', 'ch', 'attempt')
              if st[1] == 'pending' then
                redis.call('DEL', rk)
                redis.call('ZREM', sched, rid)
                local why = ev.type
                if ev.type == 'due' then why = 'superseded' end
                emit(outbox, ev.key, outcome(ev, rid, st[2], st[3], 'cancelled',
                     tonumber(st[4]), why, at))
              end
              -- A claimed reminder is in flight: it keeps its old version, so a retry of
              -- it is cancelled, while a send already accepted is still reported.
            end
          end
        end
        local live = {}
        for _, r in ipairs(plan) do
          local rk = base .. 'r:' .. r.id
          if redis.call('EXISTS', base .. 'd:' .. r.id) == 1 then
            -- Already reached its terminal outcome under an earlier version: never again.
          elseif r.disp == 'expired' then
            mark_done(base, r.id, 'expired', retention)
            emit(outbox, ev.key, outcome(ev, r.id, r.st, r.ch, 'expired', 0, r.why, at))
          elseif r.disp == 'suppressed' then
            emit(outbox, ev.key, outcome(ev, r.id, r.st, r.ch, 'suppressed', 0, r.why, at))
          else
            table.insert(live, r.id)
            local state = redis.call('HGET', rk, 'state')
            if state == 'pending' then
              redis.call('HSET', rk, 'ver', ev.ver, 'eid', ev.eid, 'at', r.at, 'exp', r.exp)
              redis.call('ZADD', sched, r.at, r.id)
            elseif state == 'claimed' then
              redis.call('HSET', rk, 'ver', ev.ver, 'eid', ev.eid, 'exp', r.exp)
            else
              redis.call('HSET', rk, 'state', 'pending', 'lh', ev.lh, 'st', r.st, 'ch', r.ch,
                         'at', r.at, 'exp', r.exp, 'ver', ev.ver, 'eid', ev.eid, 'attempt', 0)
              redis.call('ZADD', sched, r.at, r.id)
              scheduled = scheduled + 1
              local o = outcome(ev, r.id, r.st, r.ch, 'scheduled', 0, '', at)
              o.scheduled_for = r.at_iso
              emit(outbox, ev.key, o)
            end
          end
        end
        redis.call('HSET', lk, 'v', ev.ver, 'eid', ev.eid, 'program', ev.program,
                   'lid', ev.lid, 'rids', table.concat(live, ','))
        if ev.type == 'due' and #live > 0 then
          redis.call('HSET', lk, 'p', ev.payload, 'due', ev.due)
        else
          redis.call('HDEL', lk, 'p')
        end
        redis.call('PEXPIRE', lk, retention)
      end
    end
  end
end
if next_offset > stored then
  redis.call('HSET', offkey, topic, next_offset)
end
return {applied, stale, scheduled, next_offset}
