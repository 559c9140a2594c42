-- Argo CD health check for refit.dev/TrainingPipeline.
-- Install under resource.customizations.health.refit.dev_TrainingPipeline in argocd-cm
-- (see argocd-cm.yaml). Argo CD runs it with the live object in the global `obj` and takes
-- the returned table's status (Healthy, Progressing, Degraded, Suspended) and message.
-- Lua 5.1 (Argo CD embeds gopher-lua); only the base library is used.
local hs = {}

local function condition(conditions, condType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == condType then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  if c.message ~= nil and c.message ~= "" then
    if c.reason ~= nil and c.reason ~= "" then
      return c.reason .. ": " .. c.message
    end
    return c.message
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local status = obj.status or {}
local conditions = status.conditions
local generation = (obj.metadata or {}).generation

-- Suspension is the user's intent: report it even before the operator has caught up.
local suspended = condition(conditions, "Suspended")
if (obj.spec ~= nil and obj.spec.suspend == true) or (suspended ~= nil and suspended.status == "True") then
  hs.status = "Suspended"
  if suspended ~= nil and suspended.status == "True" then
    hs.message = describe(suspended, "Suspended")
  else
    hs.message = "spec.suspend is true: no new runs are created"
  end
  return hs
end

-- A status written for an older spec says nothing about the current one.
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local ready = condition(conditions, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Ready condition is from generation " .. ready.observedGeneration
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
elseif ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready, "Not ready")
else
  hs.status = "Progressing"
  hs.message = describe(ready, "Ready is Unknown")
end
return hs
