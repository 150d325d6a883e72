local core = require "arazzo.core"

describe("arazzo.core time", function()
  it("has a monotonic clock and a sleep that waits at least as long as asked", function()
    local t0 = core.now()
    core.sleep(0.02)
    local dt = core.now() - t0
    assert.is_true(dt >= 0.02, "slept " .. dt)
    assert.is_true(core.now() >= t0)
  end)

  it("reads the wall clock in seconds since the epoch", function()
    local t = core.wallclock()
    assert.is_true(t > 1.7e9 and math.abs(t - os.time()) < 5)
  end)

  it("refuses negative, NaN and absurd sleeps", function()
    assert.has_error(function() core.sleep(-1) end)
    assert.has_error(function() core.sleep(0 / 0) end)
    assert.has_error(function() core.sleep(1e9) end)
    assert.has_error(function() core.sleep({}) end)
  end)
end)
