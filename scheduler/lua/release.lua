-- Gives claimed reminders back (graceful shutdown, lost partition) so they are due at once
-- for the next owner instead of after the lease. The attempt counter is not charged.
-- KEYS: sched
-- ARGV: base, now_ms, token, rid...
local sched = KEYS[1]
local base, now, token = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local n = 0
for i = 4, #ARGV do
  local rk = base .. 'r:' .. ARGV[i]
  local r = redis.call('HMGET', rk, 'state', 'tok', 'attempt')
  if r[1] == 'claimed' and r[2] == token then
    redis.call('HSET', rk, 'state', 'pending', 'tok', '', 'attempt', math.max(0, tonumber(r[3]) - 1))
    redis.call('ZADD', sched, now, ARGV[i])
    n = n + 1
  end
end
return n
