-- Argo CD health of a nerops.io NerModel, from its status (see README.md beside this file).
-- Lua 5.1, as Argo CD's gopher-lua runs it.
local hs = { status = "Progressing", message = "Waiting for the operator" }
local function condition(t)
  if obj.status == nil or obj.status.conditions == nil then return nil end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == t then return c end
  end
  return nil
end
local s = obj.status
if s == nil or (obj.metadata.generation ~= nil and (s.observedGeneration or 0) < obj.metadata.generation) then
  return hs
end
local phase = s.phase or ""
local degraded = condition("Degraded")
if phase == "Rejected" or phase == "Failed" or (degraded ~= nil and degraded.status == "True") then
  hs.status = "Degraded"
  hs.message = s.message or (degraded and degraded.message) or phase
  return hs
end
if phase == "Ready" then
  hs.status = "Healthy"
  hs.message = "Validated and ready to serve"
  return hs
end
hs.message = s.message or ("Phase " .. (phase ~= "" and phase or "Pending"))
return hs
