-- A console server (docs/console.md): one terminal, any number of
-- clients, over a backend that moves the bytes (uart16550.lua for a
-- serial line, vgacon.lua for screen and keyboard). It runs in the
-- thread that calls serve(), which gets the backend's interrupts and the
-- clients' requests (console.lua) in one open receive.
--
-- Output: WRITE from anyone, "\n" sent as "\r\n". While a client has an
-- edit line (EDIT), other output clears the line first and redraws it
-- after, so a line being typed is never garbled; lines longer than the
-- screen scroll sideways around the cursor.
-- Input: kept in order (nothing dropped up to `max_input` bytes) until
-- a client READs it; one READ waits at a time, a second gets "busy".
-- Ctrl-C typed while nobody reads and no edit line is up (a chunk is
-- running) is not input: the INTR thread gets a NOTE instead.
local proto = require "console"

local M = {}
local NOTE_WAIT = {timeout = 20}    -- ms the INTR thread has to be receiving

local function redraw(edit, col, width)
  local text, start = edit, 1
  if #text >= width then           -- keep the cursor on the screen
    start = math.max(1, col - (width - 10) + 1)
    text = text:sub(start, start + width - 2)
  end
  local back = #text - (col - start + 1)
  return "\r" .. text .. "\27[K" .. (back > 0 and ("\27[" .. back .. "D") or "")
end

function M.serve(backend, opts)
  opts = opts or {}
  local width = opts.width or 80
  local max_input = opts.max_input or (1 << 20)
  local irq = assert(l4.irq.attach(backend:irq_line()))
  local input, input_n, head = {}, 0, 1     -- queued chunks, bytes, first chunk
  local reader, reader_max                  -- the client waiting in READ
  local edit, edit_col                      -- the edit line, if one is up
  local note_to                             -- the INTR thread
  local stats = {bin = 0, bout = 0, intr = 0, dropped = 0}

  local function out(s)
    stats.bout = stats.bout + #s
    backend:write(s)
  end

  local function take(max)
    local parts, n = {}, 0
    while head <= #input and n < max do
      local c = input[head]
      if n + #c > max then
        parts[#parts + 1] = c:sub(1, max - n)
        input[head] = c:sub(max - n + 1)
        n = max
      else
        parts[#parts + 1] = c
        n = n + #c
        input[head] = nil
        head = head + 1
      end
    end
    if head > #input then input, head = {}, 1 end
    input_n = input_n - n
    return table.concat(parts)
  end

  local function keys(s)
    if s:find("\3", 1, true) and not reader and not edit and note_to then
      s = s:gsub("\3", "")
      stats.intr = stats.intr + 1
      l4.send(note_to, NOTE_WAIT, proto.NOTE, l4.clock())
    end
    if #s == 0 then return end
    stats.bin = stats.bin + #s
    if input_n + #s > max_input then
      stats.dropped = stats.dropped + #s
      return
    end
    input[#input + 1] = s
    input_n = input_n + #s
    if reader then
      local r = reader
      reader = nil
      l4.reply(r, 0, take(reader_max))
    end
  end

  local function write(s)
    s = s:gsub("\r?\n", "\r\n")
    if edit then
      out("\r\27[K" .. s .. (s:sub(-1) == "\n" and "" or "\r\n") .. redraw(edit, edit_col, width))
    else
      out(s)
    end
  end

  local from, label, a, b = l4.receive()
  while true do
    local rto, rlabel, ra, rb       -- the reply to send with the next receive
    if not from then
      -- a reply failed (the client gave up): nothing to do
    elseif label == "irq" then
      keys(backend:on_irq())
    elseif label == proto.WRITE then
      write(a or "")
      rto, rlabel, ra = from, 0, #(a or "")
    elseif label == proto.READ then
      if reader and reader ~= from then
        rto, rlabel = from, 1       -- busy
      else
        local max = math.max(1, math.min(a or proto.READ_MAX, proto.READ_MAX))
        if input_n > 0 then
          rto, rlabel, ra = from, 0, take(max)
        else
          reader, reader_max = from, max
        end
      end
    elseif label == proto.EDIT then
      edit, edit_col = b or "", math.max(0, math.min(a or 0, #(b or "")))
      out(redraw(edit, edit_col, width))
      rto, rlabel = from, 0
    elseif label == proto.DONE then
      if edit then out("\r\n") end
      edit = nil
      rto, rlabel = from, 0
    elseif label == proto.INTR then
      note_to = (a and a ~= 0) and l4.id(a) or nil
      rto, rlabel = from, 0
    elseif label == proto.INFO then
      rto, rlabel, ra, rb = from, 0, stats.bin, stats.bout
      from, label, a, b = l4.reply_wait(rto, rlabel, ra, rb, stats.intr, stats.dropped)
      goto continue
    else
      rto, rlabel = from, 2         -- unknown request
    end
    if rto and ra ~= nil then
      from, label, a, b = l4.reply_wait(rto, rlabel, ra)
    elseif rto then
      from, label, a, b = l4.reply_wait(rto, rlabel)
    else
      from, label, a, b = l4.receive()
    end
    ::continue::
  end
end

return M
