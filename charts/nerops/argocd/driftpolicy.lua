-- Argo CD health of a nerops.io DriftPolicy, from its spec and status (see README.md beside this file).
-- Lua 5.1, as Argo CD's gopher-lua runs it.
local hs = { status = "Progressing", message = "Waiting for the operator" }
local function condition(t)
  if obj.status == nil or obj.status.conditions == nil then return nil end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == t then return c end
  end
  return nil
end
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Evaluation and retraining suspended (spec.suspend)"
  return hs
end
local s = obj.status
if s == nil or (obj.metadata.generation ~= nil and (s.observedGeneration or 0) < obj.metadata.generation) then
  return hs
end
local state = s.state or ""
local degraded = condition("Degraded")
local ready = condition("Ready")
-- Critical drift, a policy that cannot act (Ready=False: no target, no output location, a refused
-- template) and repeated retraining failures (Degraded) need a person. Warning drift is what the policy
-- exists to handle: it is Progressing while a retraining runs and Healthy otherwise.
if state == "Critical" or (degraded ~= nil and degraded.status == "True") or (ready ~= nil and ready.status == "False") then
  hs.status = "Degraded"
  hs.message = s.message or (degraded and degraded.status == "True" and degraded.message) or (ready and ready.message) or state
  return hs
end
if s.activeJob ~= nil then
  hs.status = "Progressing"
  hs.message = s.message or "Retraining"
  return hs
end
hs.status = "Healthy"
hs.message = s.message or ("Drift state " .. (state ~= "" and state or "unknown"))
return hs
