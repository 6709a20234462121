-- wrk script for bench/serve.sh: GET /v1/devices/{id} over ids drawn at
-- random from the file given after "--" (one id a line), on keep-alive
-- connections (wrk's default).
local ids = {}

function init(args)
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  -- Each thread its own sequence, the same from run to run.
  math.randomseed(#ids + (tonumber(wrk.thread and wrk.thread.id or 0) or 0))
end

function request()
  return wrk.format("GET", "/v1/devices/" .. ids[math.random(#ids)])
end
