-- Argo CD health of a nerops.io NerDeployment, from its status (see README.md beside this file).
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
local paused = condition("Paused")
-- A rollback leaves the stable model serving, but the change Argo CD synced did not go live: Degraded,
-- as Argo Rollouts reports an aborted rollout.
if phase == "Degraded" or phase == "RolledBack" or (degraded ~= nil and degraded.status == "True") then
  hs.status = "Degraded"
  hs.message = s.message or (degraded and degraded.message) or phase
  return hs
end
if phase == "Paused" or (paused ~= nil and paused.status == "True") then
  hs.status = "Suspended"
  hs.message = s.message or (paused and paused.message) or "Rollout paused"
  return hs
end
if phase == "Healthy" then
  hs.status = "Healthy"
  hs.message = s.message or "Serving"
  return hs
end
hs.message = s.message or ("Phase " .. (phase ~= "" and phase or "Progressing"))
return hs
