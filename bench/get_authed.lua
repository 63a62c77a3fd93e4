-- wrk script: an authenticated GET (path given on the command line); counts answers that are not 200.
wrk.headers["Authorization"] = "ShippoToken " .. os.getenv("TOKEN")

local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", bad))
end
