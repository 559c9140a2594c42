-- Run an Argo CD health script the way Argo CD does: the live object in the global `obj`,
-- the script's returned table read for status and message. The script gets only the
-- functions Argo CD's sandbox offers (no io, os, require, dofile), so a script that would
-- fail in Argo CD fails here too.
--
-- Usage: lua5.1 harness.lua OBJECT.lua SCRIPT.lua   (OBJECT.lua assigns `obj`)
-- Prints two lines: the status, then the message.
local objectFile, scriptFile = arg[1], arg[2]

local env = {
  ipairs = ipairs, pairs = pairs, next = next, type = type, tostring = tostring,
  tonumber = tonumber, select = select, unpack = unpack, error = error, pcall = pcall,
  string = string, table = table, math = math,
}

local object = assert(loadfile(objectFile))
setfenv(object, env)
object()

local script = assert(loadfile(scriptFile))
setfenv(script, env)
local hs = script()
if type(hs) ~= "table" then
  error("health script returned " .. type(hs) .. ", not a table")
end
io.write(tostring(hs.status), "\n", tostring(hs.message), "\n")
