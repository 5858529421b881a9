-- JSON text from Lua values (RFC 8259), for what the HTTP server sends
-- (scripts/dashboard.lua). Plain tables only: a table whose keys are
-- 1..n is an array (an empty table is an array: []), any other table an
-- object with its keys as strings, in sorted order (the same value gives
-- the same text). Integers stay integers, floats get 17 digits; NaN and
-- the infinities, which JSON has not, become null. Strings are taken as
-- bytes: control bytes and '"' '\' are escaped, other bytes go as they
-- are (the page is UTF-8; a stray byte >= 0x80 is the browser's to show).
-- A cycle, a function or a userdata other than a thread id (sent as its
-- text, "11.0.0201") raises an error.
local M = {}

local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                 ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local function encode(v, out, seen)
  local t = type(v)
  if t == "nil" then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = ("%d"):format(v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    else
      out[#out + 1] = ("%.17g"):format(v)
    end
  elseif t == "string" then
    out[#out + 1] = quote(v)
  elseif t == "table" then
    if seen[v] then error("json: a table that contains itself", 0) end
    seen[v] = true
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, seen)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" and type(k) ~= "number" then
          error("json: a key of type " .. type(k), 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = quote(tostring(k))
        out[#out + 1] = ":"
        encode(v[k], out, seen)
      end
      out[#out + 1] = "}"
    end
    seen[v] = nil
  elseif t == "userdata" and getmetatable(v) and getmetatable(v).__tostring then
    out[#out + 1] = quote(tostring(v))
  else
    error("json: cannot encode a " .. t, 0)
  end
end

-- json.encode(value) -> the JSON text; raises on what JSON cannot hold.
function M.encode(v)
  local out = {}
  encode(v, out, {})
  return table.concat(out)
end

return M
