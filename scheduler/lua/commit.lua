-- Layout 3's only writer: a compare-and-set of licence records decided by the engine.
-- Each record is written back only if its revision (the first 8 bytes) is still the one the
-- engine read, and the partition's stored offset is still the one it read; otherwise nothing
-- is written and the engine reads again and re-decides. Records, schedule members (one
-- sorted set per priority lane), the outbox entry and the stored offset change in this one
-- atomic step.
-- KEYS: offsets, schedule_high, schedule_normal, schedule_bulk, outbox, record...
-- ARGV: topic, expected_offset ('*': not checked, '': none stored), new_offset ('': keep),
--       outbox_blob ('': none), idle_ttl_ms,
--       then per record: expected_revision ('': absent), value ('': delete),
--       score per lane (high, normal, bulk; '': not in that lane), member.
--       A record in no lane is kept for idle_ttl_ms.
-- Returns {1, 0} when written, {0, i} on a conflict (i = 0: the offset, else record i).
local offkey, outbox = KEYS[1], KEYS[5]
local lanes = {KEYS[2], KEYS[3], KEYS[4]}
local topic, expected_offset, new_offset = ARGV[1], ARGV[2], ARGV[3]
local blob, idle_ttl = ARGV[4], ARGV[5]
local first_record, per = 6, 6
local n = #KEYS - 5

if expected_offset ~= '*' then
  local cur = redis.call('HGET', offkey, topic) or ''
  if cur ~= expected_offset then return {0, 0} end
end

local chunk = 1000
for first = 1, n, chunk do
  local last = math.min(n, first + chunk - 1)
  local cur = redis.call('MGET', unpack(KEYS, 5 + first, 5 + last))
  for i = first, last do
    local expected = ARGV[first_record + (i - 1) * per]
    local v = cur[i - first + 1]
    if v then
      if string.sub(v, 1, 8) ~= expected then return {0, i} end
    elseif expected ~= '' then
      return {0, i}
    end
  end
end

local mset, del = {}, {}
local zadd, zrem = {{}, {}, {}}, {{}, {}, {}}
local function flush(cmd, key, t)
  if #t == 0 then return end
  for first = 1, #t, chunk do
    if key then
      redis.call(cmd, key, unpack(t, first, math.min(#t, first + chunk - 1)))
    else
      redis.call(cmd, unpack(t, first, math.min(#t, first + chunk - 1)))
    end
  end
end
for i = 1, n do
  local b = first_record + (i - 1) * per
  local value, member = ARGV[b + 1], ARGV[b + 5]
  local key = KEYS[5 + i]
  local scheduled = false
  for lane = 1, 3 do
    local score = ARGV[b + 1 + lane]
    if score == '' then
      zrem[lane][#zrem[lane] + 1] = member
    else
      scheduled = true
      zadd[lane][#zadd[lane] + 1] = score
      zadd[lane][#zadd[lane] + 1] = member
    end
  end
  if value == '' then
    del[#del + 1] = key
  elseif not scheduled then
    redis.call('SET', key, value, 'PX', idle_ttl)
  else
    mset[#mset + 1] = key
    mset[#mset + 1] = value
  end
end
-- MSET pairs must not be split across calls at an odd index: chunk is even.
flush('MSET', nil, mset)
flush('DEL', nil, del)
for lane = 1, 3 do
  flush('ZADD', lanes[lane], zadd[lane])
  flush('ZREM', lanes[lane], zrem[lane])
end
if blob ~= '' then redis.call('XADD', outbox, '*', 'b', blob) end
if new_offset ~= '' then redis.call('HSET', offkey, topic, new_offset) end
return {1, 0}
