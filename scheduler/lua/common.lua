-- Shared helpers, prepended to every script. All keys of one call share the partition's
-- hash tag ({pN}), so each script touches one hash slot (Redis Cluster safe).
-- Outcomes are appended to the partition's outbox stream in the same atomic step as the
-- state change they report; the engine relays the stream to Kafka.
local function emit(outbox, key, o)
  redis.call('XADD', outbox, '*', 'k', key, 'v', cjson.encode(o))
end

local function outcome(ev, rid, stage, channel, status, attempt, reason, at)
  return {schema = 'notification-outcome/1', event_id = ev.eid or '', reminder_id = rid or '',
          program = ev.program or '', licence_id = ev.lid or '', stage = stage or '',
          channel = channel or '', provider = ev.provider or '', status = status,
          attempt = attempt or 0, provider_message_id = ev.pmid or '', reason = reason or '',
          at = at}
end

-- Drops the holder's contact data once none of the licence's reminders is still alive.
local function release_payload(base, lk)
  local rids = redis.call('HGET', lk, 'rids')
  if rids then
    for rid in string.gmatch(rids, '[^,]+') do
      if redis.call('EXISTS', base .. 'r:' .. rid) == 1 then return end
    end
  end
  redis.call('HDEL', lk, 'p')
end

local function mark_done(base, rid, status, retention)
  redis.call('SET', base .. 'd:' .. rid, status, 'PX', retention)
end
