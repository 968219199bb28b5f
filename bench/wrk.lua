-- bench/wrk.lua — the requests of `make bench`.
--
-- Each request asks for one origin file under BENCH_URI (/pub): with
-- probability BENCH_HOT_SHARE (0.7) one of the hot set (BENCH_HOT, 1,000
-- current files), else one of the long tail (BENCH_TAIL, up to 100,000 files
-- drawn from the whole tree), from a client address (X-Forwarded-For, through
-- mod_remoteip) drawn from BENCH_CLIENTS (many countries, IPv4 and IPv6).
-- The draws are seeded per thread, so both instances see the same requests.
--
-- BENCH_CHECK=1 also counts statuses and X-MirrorSel-Tier headers and prints
-- them at the end (slower: for the short check runs, not the timed ones).

local function lines(path)
   local t = {}
   local f = assert(io.open(path, "r"), "wrk.lua: cannot open " .. tostring(path))
   for l in f:lines() do
      if l ~= "" then t[#t + 1] = l end
   end
   f:close()
   assert(#t > 0, "wrk.lua: " .. path .. " is empty")
   return t
end

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   threads[#threads + 1] = thread
end

local hot, tail, clients, hot_share, uri, check

function init(args)
   hot = lines(os.getenv("BENCH_HOT"))
   tail = lines(os.getenv("BENCH_TAIL"))
   clients = lines(os.getenv("BENCH_CLIENTS"))
   hot_share = tonumber(os.getenv("BENCH_HOT_SHARE") or "0.7")
   uri = os.getenv("BENCH_URI") or "/pub"
   check = os.getenv("BENCH_CHECK") == "1"
   math.randomseed(7919 * (id or 1))
   statuses = {}
   tiers = {}
end

function request()
   local path
   if math.random() < hot_share then
      path = hot[math.random(#hot)]
   else
      path = tail[math.random(#tail)]
   end
   return wrk.format("GET", uri .. "/" .. path,
                     { ["X-Forwarded-For"] = clients[math.random(#clients)] })
end

if os.getenv("BENCH_CHECK") == "1" then
   function response(status, headers, body)
      local s = tostring(status)
      statuses[s] = (statuses[s] or 0) + 1
      local tier = headers["X-MirrorSel-Tier"] or "-"
      tiers[tier] = (tiers[tier] or 0) + 1
   end

   function done(summary, latency, requests)
      local st, ti = {}, {}
      for _, t in ipairs(threads) do
         for k, v in pairs(t:get("statuses") or {}) do st[k] = (st[k] or 0) + v end
         for k, v in pairs(t:get("tiers") or {}) do ti[k] = (ti[k] or 0) + v end
      end
      local out = {}
      for k, v in pairs(st) do out[#out + 1] = k .. "=" .. v end
      table.sort(out)
      io.write("check-status: " .. table.concat(out, " ") .. "\n")
      out = {}
      for k, v in pairs(ti) do out[#out + 1] = k .. "=" .. v end
      table.sort(out)
      io.write("check-tier: " .. table.concat(out, " ") .. "\n")
   end
end
