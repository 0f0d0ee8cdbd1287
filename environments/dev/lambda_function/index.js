// The notification Lambda. The migration state machine invokes it as its last step with the result:
//
//   { "status": "SUCCEEDED" | "FAILED", "execution": "<execution ARN>", "git_sha": "<40 hex>",
//     "requested_by": "<login>", "error": "...", "cause": "..." }   (error/cause on failure)
//
// and it posts a short message to one target, chosen by NOTIFY_TARGET:
//   github-status  a commit status on git_sha (context NOTIFY_CONTEXT) in GITHUB_REPOSITORY
//   webhook        a JSON POST ({ "text": ..., plus the fields above }) to a URL
// The GitHub token or the webhook URL is read at run time from the Secrets Manager secret named by
// NOTIFY_SECRET_ID, so it is neither in the function's configuration nor in Terraform state, and it
// is never logged: every message that leaves this module goes through redact().
// Other fields of the payload (environment, image, task, ...) are accepted and ignored.
//
// A bad payload or a failed delivery throws, so the state machine's task fails visibly instead of a
// migration result being lost.

import { createHash, createHmac } from "node:crypto";

const REQUEST_TIMEOUT_MS = 10_000;
const STATUSES = new Set(["SUCCEEDED", "FAILED"]);
const TARGETS = new Set(["github-status", "webhook"]);
// GitHub truncates nothing: it rejects commit status descriptions over 140 characters.
const GITHUB_DESCRIPTION_LIMIT = 140;
const WEBHOOK_DETAIL_LIMIT = 1000;

export class PayloadError extends Error {
  constructor(message) {
    super(`invalid notification payload: ${message}`);
    this.name = "PayloadError";
  }
}

export class DeliveryError extends Error {
  constructor(message) {
    super(message);
    this.name = "DeliveryError";
  }
}

export class ConfigurationError extends Error {
  constructor(message) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** Checks the state machine's payload and returns the fields the messages use. */
export function parsePayload(event) {
  if (event === null || typeof event !== "object" || Array.isArray(event)) {
    throw new PayloadError(`expected a JSON object, got ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}`);
  }
  const { status, execution, git_sha: gitSha, requested_by: requestedBy, error, cause } = event;
  if (!STATUSES.has(status)) {
    throw new PayloadError(`status must be SUCCEEDED or FAILED, got ${describe(status)}`);
  }
  if (typeof execution !== "string" || !execution.startsWith("arn:")) {
    throw new PayloadError(`execution must be the execution ARN, got ${describe(execution)}`);
  }
  if (gitSha !== undefined && gitSha !== null && (typeof gitSha !== "string" || !/^[0-9a-f]{40}$/.test(gitSha))) {
    throw new PayloadError(`git_sha must be a 40-character hex commit SHA, got ${describe(gitSha)}`);
  }
  for (const [name, value] of [["requested_by", requestedBy], ["error", error], ["cause", cause]]) {
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw new PayloadError(`${name} must be a string, got ${describe(value)}`);
    }
  }
  if (status === "FAILED" && !error) {
    throw new PayloadError("a FAILED payload must say which error ended the migration (error)");
  }
  return {
    status,
    execution,
    gitSha: gitSha ?? undefined,
    requestedBy: requestedBy ?? undefined,
    error: error ?? undefined,
    cause: cause ?? undefined,
  };
}

function describe(value) {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return `"${value.slice(0, 60)}"`;
  return typeof value;
}

/** The console page of an execution (region and account are in the ARN). */
export function executionUrl(executionArn) {
  const region = executionArn.split(":")[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** The one-line summary used by both targets. */
export function summary(payload, context) {
  const commit = payload.gitSha ? ` at ${payload.gitSha.slice(0, 7)}` : "";
  const by = payload.requestedBy ? ` (requested by ${payload.requestedBy})` : "";
  if (payload.status === "SUCCEEDED") {
    return `${context}: migration succeeded${commit}${by}`;
  }
  return `${context}: migration FAILED${commit}${by}: ${payload.error}`;
}

function truncate(text, limit) {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** Reads the settings from the environment; nothing secret is among them. */
export function readSettings(env) {
  const target = env.NOTIFY_TARGET;
  if (!TARGETS.has(target)) {
    throw new ConfigurationError(`NOTIFY_TARGET must be github-status or webhook, got ${describe(target)}`);
  }
  const secretId = env.NOTIFY_SECRET_ID;
  if (!secretId) {
    throw new ConfigurationError("NOTIFY_SECRET_ID is not set: it names the secret holding the GitHub token or the webhook URL");
  }
  const region = env.AWS_REGION || (secretId.startsWith("arn:") ? secretId.split(":")[3] : undefined);
  if (!region) {
    throw new ConfigurationError("AWS_REGION is not set (Lambda sets it; set it when running elsewhere)");
  }
  const settings = {
    target,
    secretId,
    context: env.NOTIFY_CONTEXT || "db-migrate",
    region,
    secretsEndpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER || env.AWS_ENDPOINT_URL,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN,
    },
  };
  if (!settings.credentials.accessKeyId || !settings.credentials.secretAccessKey) {
    throw new ConfigurationError("AWS credentials are missing from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  }
  if (target === "github-status") {
    if (!/^[^/\s]+\/[^/\s]+$/.test(env.GITHUB_REPOSITORY ?? "")) {
      throw new ConfigurationError(`GITHUB_REPOSITORY must be owner/repo, got ${describe(env.GITHUB_REPOSITORY)}`);
    }
    settings.repository = env.GITHUB_REPOSITORY;
    settings.githubApiUrl = (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
  }
  return settings;
}

/** Replaces every occurrence of the secrets in a text that may be logged or thrown. */
export function redact(text, secrets) {
  let out = String(text);
  for (const secret of secrets) {
    if (secret && secret.length >= 4) {
      out = out.split(secret).join("***");
    }
  }
  return out;
}

const sha256Hex = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

/** AWS Signature Version 4 headers for a JSON-protocol request. */
export function signRequest({ url, region, service, target, body, credentials, now = new Date() }) {
  const parsed = new URL(url);
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers = {
    "content-type": "application/x-amz-json-1.1",
    host: parsed.host,
    "x-amz-date": amzDate,
    "x-amz-target": target,
  };
  if (credentials.sessionToken) {
    headers["x-amz-security-token"] = credentials.sessionToken;
  }
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    "POST",
    parsed.pathname || "/",
    "",
    ...names.map((name) => `${name}:${headers[name]}`),
    "",
    names.join(";"),
    sha256Hex(body),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), "aws4_request");
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  const { host: _host, ...sent } = headers;
  return {
    ...sent,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}

/** Secrets Manager GetSecretValue, signed with the function's own credentials. */
export async function readSecret(settings) {
  const url = settings.secretsEndpoint || `https://secretsmanager.${settings.region}.amazonaws.com/`;
  const body = JSON.stringify({ SecretId: settings.secretId });
  const headers = signRequest({
    url,
    region: settings.region,
    service: "secretsmanager",
    target: "secretsmanager.GetSecretValue",
    body,
    credentials: settings.credentials,
  });
  let response;
  try {
    response = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (cause) {
    throw new DeliveryError(`reading the notification secret ${settings.secretId}: ${cause.message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    // Secrets Manager error bodies carry a type and a message, never the secret value.
    throw new DeliveryError(`reading the notification secret ${settings.secretId}: HTTP ${response.status} ${text.slice(0, 200)}`);
  }
  let value;
  try {
    value = JSON.parse(text).SecretString;
  } catch {
    value = undefined;
  }
  if (typeof value !== "string" || value.trim() === "") {
    throw new DeliveryError(`the notification secret ${settings.secretId} has no SecretString`);
  }
  return value.trim();
}

/** The HTTP request for a target: URL, headers and JSON body. */
export function buildRequest(settings, payload, secret) {
  const text = summary(payload, settings.context);
  if (settings.target === "github-status") {
    if (!payload.gitSha) {
      throw new PayloadError("git_sha is required for a GitHub commit status");
    }
    return {
      url: `${settings.githubApiUrl}/repos/${settings.repository}/statuses/${payload.gitSha}`,
      headers: {
        accept: "application/vnd.github+json",
        authorization: `Bearer ${secret}`,
        "content-type": "application/json",
        "user-agent": "db-migrate-notifier",
        "x-github-api-version": "2022-11-28",
      },
      body: {
        state: payload.status === "SUCCEEDED" ? "success" : "failure",
        context: settings.context,
        description: truncate(text.slice(settings.context.length + 2), GITHUB_DESCRIPTION_LIMIT),
        target_url: executionUrl(payload.execution),
      },
    };
  }
  if (!/^https?:\/\//.test(secret)) {
    throw new ConfigurationError(`the notification secret ${settings.secretId} must hold the webhook URL (http or https)`);
  }
  return {
    url: secret,
    headers: { "content-type": "application/json", "user-agent": "db-migrate-notifier" },
    body: {
      text,
      status: payload.status,
      context: settings.context,
      execution: payload.execution,
      execution_url: executionUrl(payload.execution),
      git_sha: payload.gitSha ?? null,
      requested_by: payload.requestedBy ?? null,
      error: payload.error ?? null,
      cause: payload.cause ? truncate(payload.cause, WEBHOOK_DETAIL_LIMIT) : null,
    },
  };
}

async function deliver(request, settings, secrets) {
  const where = settings.target === "github-status" ? `GitHub commit status on ${settings.repository}` : "the webhook";
  let response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new DeliveryError(redact(`posting to ${where}: ${cause.message}`, secrets));
  }
  const text = await response.text();
  if (!response.ok) {
    throw new DeliveryError(redact(`posting to ${where}: HTTP ${response.status} ${text.slice(0, 300)}`, secrets));
  }
  return { where, httpStatus: response.status };
}

/**
 * Every form in which a secret could come back in an error text. A webhook URL's path and query are
 * its secret part, and a receiver may echo just a piece of them ("no such hook /hooks/T0/B0/xyz").
 */
export function secretForms(secret) {
  const forms = [secret, encodeURIComponent(secret)];
  try {
    const url = new URL(secret);
    forms.push(url.pathname + url.search);
    for (const part of [...url.pathname.split("/"), ...url.searchParams.values()]) {
      if (part.length >= 6) forms.push(part, decodeURIComponent(part));
    }
  } catch {
    // Not a URL (a token): the whole value is the secret.
  }
  // Longest first, so a whole URL is replaced before its pieces.
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/** Does the whole job with explicit inputs; the handler passes process.env. */
export async function notify(event, env, log = console) {
  const payload = parsePayload(event);
  const settings = readSettings(env);
  const secret = await readSecret(settings);
  const secrets = secretForms(secret);
  try {
    const request = buildRequest(settings, payload, secret);
    const { where, httpStatus } = await deliver(request, settings, secrets);
    log.log(JSON.stringify({ message: "notification delivered", target: settings.target, status: payload.status, execution: payload.execution, http_status: httpStatus }));
    return { delivered: true, target: settings.target, status: payload.status, to: where };
  } catch (error) {
    // The message is already redacted; redact again in case a lower layer quoted the secret.
    error.message = redact(error.message, secrets);
    throw error;
  }
}

export async function handler(event) {
  try {
    return await notify(event, process.env);
  } catch (error) {
    console.error(JSON.stringify({ message: "notification failed", error: error.name, detail: error.message }));
    throw error;
  }
}
