#!/usr/bin/env lua
-- tests/lua/luac.lua: a first line starting with # is skipped
local function f() error("from line 3") end
return f
