-- wrk script for bench/api_bench.py: one request shape, against the product or the floor app.
--
-- wrk ... -s bench/wrk/load.lua URL -- METHOD PATH TOKEN IDS_FILE BODY_FILE [RUN]
--   METHOD     GET or POST
--   PATH       the path; "{id}" in it becomes a row picked at random from IDS_FILE per request
--   TOKEN      a bearer token, or "-" to send none (the floor authenticates nothing)
--   IDS_FILE   one id a line, or "-"
--   BODY_FILE  the JSON body, or "-"; in it "@GIVEN@", "@FAMILY@" and "@BIRTH@" become a
--              random child's names and date of birth per request, so new children rarely match
--   RUN        this run's number (default 0)
--
-- Each thread seeds its own generator from its number and the run's, so a run is the same
-- sequence of rows each time, and each run of a benchmark (warm-up, rounds) a different one:
-- with one seed for all, every run after the first recorded the first's children again, and
-- each concern became a re-referral of a child referred as many times as runs went before.
-- done() prints one line "WRK_RESULT {json}" that api_bench.py reads.

local method, path, body_template
local ids = {}
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

local given = { "Amy", "Ben", "Cara", "Dan", "Eve", "Finn", "Gail", "Hugh", "Isla", "Jack",
  "Kirsty", "Lewis", "Mhairi", "Neil", "Orla", "Piotr", "Rona", "Sean", "Tara", "Uzma" }
local family = { "Brown", "Campbell", "Duncan", "Ewing", "Fraser", "Gordon", "Hamilton",
  "Irvine", "Johnston", "Kerr", "Lennox", "MacLeod", "Murray", "Nairn", "Ogilvie", "Paterson",
  "Quinn", "Robertson", "Stewart", "Thomson" }
local birth_base = os.time({ year = 2010, month = 1, day = 1, hour = 12 })

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

local function read_file(name)
  local f = assert(io.open(name, "r"))
  local content = f:read("*a")
  f:close()
  return content
end

function init(args)
  method, path = args[1], args[2]
  if args[3] ~= "-" then
    headers["Authorization"] = "Bearer " .. args[3]
  end
  if args[4] ~= "-" then
    for line in io.lines(args[4]) do
      if #line > 0 then
        ids[#ids + 1] = line
      end
    end
  end
  if args[5] ~= "-" then
    body_template = read_file(args[5])
  end
  math.randomseed(7919 * (thread_number or 1) + 104729 * (tonumber(args[6]) or 0))
end

function request()
  local target = path
  if #ids > 0 then
    target = (path:gsub("{id}", ids[math.random(#ids)]))
  end
  local body = nil
  if body_template then
    body = body_template
      :gsub("@GIVEN@", given[math.random(#given)])
      :gsub("@FAMILY@", family[math.random(#family)])
      :gsub("@BIRTH@", os.date("!%Y-%m-%d", birth_base + math.random(0, 3650) * 86400))
  end
  return wrk.format(method, target, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
