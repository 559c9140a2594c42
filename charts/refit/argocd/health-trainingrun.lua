-- Argo CD health check for refit.dev/TrainingRun (resource.customizations.health.
-- refit.dev_TrainingRun in argocd-cm). Runs are created by the operator (owned by their
-- pipeline, so Argo CD shows them in the resource tree) or by hand/CLI; the health follows
-- status.phase. Lua 5.1, base library only.
local hs = {}

local progressing = {
  Pending = true, Queued = true, Training = true, Evaluating = true, AwaitingApproval = true,
}

local function latestMessage(conditions)
  if conditions == nil then
    return nil
  end
  -- Succeeded summarises the run; otherwise the first condition that is not True says what
  -- the run is waiting for.
  for _, c in ipairs(conditions) do
    if c.type == "Succeeded" and c.message ~= nil and c.message ~= "" then
      return c.message
    end
  end
  for _, c in ipairs(conditions) do
    if c.status ~= "True" and c.message ~= nil and c.message ~= "" then
      return c.message
    end
  end
  return nil
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the run"
  return hs
end

local phase = status.phase
local decision = status.decision
local detail = nil
if phase == "Failed" and status.failureReason ~= nil and status.failureReason ~= "" then
  detail = status.failureReason
elseif decision ~= nil and decision.reason ~= nil then
  detail = decision.reason
  if decision.message ~= nil and decision.message ~= "" then
    if decision.reason == phase then
      detail = decision.message  -- "AwaitingApproval: AwaitingApproval: ..." says it twice
    else
      detail = detail .. ": " .. decision.message
    end
  end
else
  detail = latestMessage(status.conditions)
end
hs.message = phase
if detail ~= nil then
  hs.message = phase .. ": " .. detail
end

if progressing[phase] then
  hs.status = "Progressing"
elseif phase == "Promoted" or phase == "Rejected" then
  -- Rejected is a healthy outcome: the gate kept a better champion.
  hs.status = "Healthy"
elseif phase == "Failed" then
  hs.status = "Degraded"
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. phase
end
return hs
