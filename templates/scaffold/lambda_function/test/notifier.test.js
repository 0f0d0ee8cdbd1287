// Runs the notifier against a local HTTP server on 127.0.0.1 that plays Secrets Manager, the
// GitHub REST API and a webhook receiver, and records what it received.

import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";

import { PayloadError, executionUrl, notify, parsePayload, redact, signRequest } from "../index.js";

const TOKEN = "ghp_PLANTEDsecretTOKEN0123456789abcdef";
const EXECUTION = "arn:aws:states:ap-northeast-1:123456789012:execution:dev-db-migrate:run-1";
const SHA = "0123456789abcdef0123456789abcdef01234567";

let server;
let base;
let received;
// What the fake services answer: set per test.
let secretValue;
let githubStatus;
let githubBody;

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === "/secretsmanager/") {
        if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue" || !req.headers.authorization?.startsWith("AWS4-HMAC-SHA256 ")) {
          res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify({ __type: "MissingAuthenticationTokenException" }));
          return;
        }
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ Name: "notify", SecretString: secretValue }));
        return;
      }
      if (req.url.startsWith("/github/")) {
        res.writeHead(githubStatus, { "content-type": "application/json" });
        res.end(githubBody);
        return;
      }
      if (req.url.startsWith("/hooks/")) {
        res.writeHead(req.url.includes("broken") ? 500 : 200);
        res.end(req.url.includes("broken") ? `no such hook ${req.url}` : "ok");
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

beforeEach(() => {
  received = [];
  secretValue = TOKEN;
  githubStatus = 201;
  githubBody = JSON.stringify({ id: 1, state: "success" });
});

function env(overrides = {}) {
  return {
    NOTIFY_TARGET: "github-status",
    NOTIFY_SECRET_ID: "dev/db-migrate/notify",
    NOTIFY_CONTEXT: "db-migrate/dev",
    GITHUB_REPOSITORY: "example-org/infra-monorepo",
    GITHUB_API_URL: `${base}/github`,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `${base}/secretsmanager/`,
    AWS_REGION: "ap-northeast-1",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    AWS_SESSION_TOKEN: "session-token",
    ...overrides,
  };
}

/** A logger that keeps every line, to prove what was and was not logged. */
function recorder() {
  const lines = [];
  return { lines, log: (...args) => lines.push(args.join(" ")), error: (...args) => lines.push(args.join(" ")) };
}

const success = { status: "SUCCEEDED", execution: EXECUTION, git_sha: SHA, requested_by: "octocat" };
const failure = {
  status: "FAILED",
  execution: EXECUTION,
  git_sha: SHA,
  requested_by: "octocat",
  error: "MigrationExitCode",
  cause: "migrate.sh exited 1: relation \"accounts\" already exists",
};

describe("github-status target", () => {
  test("a success sets a success commit status linking the execution", async () => {
    const log = recorder();
    const result = await notify(success, env(), log);
    assert.equal(result.delivered, true);
    const post = received.find((r) => r.url.startsWith("/github/"));
    assert.equal(post.url, `/github/repos/example-org/infra-monorepo/statuses/${SHA}`);
    assert.equal(post.headers.authorization, `Bearer ${TOKEN}`);
    const body = JSON.parse(post.body);
    assert.equal(body.state, "success");
    assert.equal(body.context, "db-migrate/dev");
    assert.equal(body.description, "migration succeeded at 0123456 (requested by octocat)");
    assert.equal(body.target_url, executionUrl(EXECUTION));
    assert.match(body.target_url, /^https:\/\/ap-northeast-1\.console\.aws\.amazon\.com\/states\//);
  });

  test("a failure sets a failure status naming the error, within GitHub's 140 characters", async () => {
    await notify({ ...failure, error: "E".repeat(300) }, env(), recorder());
    const body = JSON.parse(received.find((r) => r.url.startsWith("/github/")).body);
    assert.equal(body.state, "failure");
    assert.ok(body.description.startsWith("migration FAILED at 0123456 (requested by octocat): EEE"));
    assert.ok(body.description.length <= 140, `description has ${body.description.length} characters`);
  });

  test("the secret is read with a signed Secrets Manager request", async () => {
    await notify(success, env(), recorder());
    const call = received.find((r) => r.url === "/secretsmanager/");
    assert.equal(JSON.parse(call.body).SecretId, "dev/db-migrate/notify");
    assert.match(call.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-northeast-1\/secretsmanager\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/);
    assert.equal(call.headers["x-amz-security-token"], "session-token");
  });

  test("a rejected status fails loudly without the token, even when the server echoes it", async () => {
    githubStatus = 401;
    githubBody = JSON.stringify({ message: `Bad credentials: ${TOKEN}` });
    const log = recorder();
    await assert.rejects(notify(success, env(), log), (error) => {
      assert.equal(error.name, "DeliveryError");
      assert.match(error.message, /HTTP 401/);
      assert.ok(!error.message.includes(TOKEN), error.message);
      assert.ok(!error.stack.includes(TOKEN));
      return true;
    });
    assert.ok(log.lines.every((line) => !line.includes(TOKEN)));
  });

  test("a payload without git_sha cannot become a commit status", async () => {
    const { git_sha: _ignored, ...noSha } = success;
    await assert.rejects(notify(noSha, env(), recorder()), PayloadError);
    assert.equal(received.filter((r) => r.url.startsWith("/github/")).length, 0);
  });
});

describe("webhook target", () => {
  test("posts a concise text and the details to the URL held in the secret", async () => {
    secretValue = `${base}/hooks/T000/B000/PLANTEDwebhookSECRET`;
    const log = recorder();
    const result = await notify(failure, env({ NOTIFY_TARGET: "webhook" }), log);
    assert.equal(result.to, "the webhook");
    const post = received.find((r) => r.url.startsWith("/hooks/"));
    const body = JSON.parse(post.body);
    assert.equal(body.text, "db-migrate/dev: migration FAILED at 0123456 (requested by octocat): MigrationExitCode");
    assert.equal(body.status, "FAILED");
    assert.equal(body.cause, failure.cause);
    assert.equal(body.git_sha, SHA);
    assert.ok(log.lines.length > 0);
    assert.ok(log.lines.every((line) => !line.includes("PLANTEDwebhookSECRET")), log.lines.join("\n"));
  });

  test("a webhook error names neither the URL nor its secret path", async () => {
    secretValue = `${base}/hooks/broken/PLANTEDwebhookSECRET`;
    await assert.rejects(notify(success, env({ NOTIFY_TARGET: "webhook" }), recorder()), (error) => {
      assert.match(error.message, /posting to the webhook: HTTP 500/);
      assert.ok(!error.message.includes("PLANTEDwebhookSECRET"), error.message);
      return true;
    });
  });

  test("a secret that is not a URL is a configuration error, not a request", async () => {
    secretValue = "not-a-url-PLANTED";
    await assert.rejects(notify(success, env({ NOTIFY_TARGET: "webhook" }), recorder()), (error) => {
      assert.equal(error.name, "ConfigurationError");
      assert.ok(!error.message.includes("not-a-url-PLANTED"));
      return true;
    });
    assert.equal(received.filter((r) => r.url.startsWith("/hooks/")).length, 0);
  });
});

test("the state machine's payload (with its extra fields) is accepted as it is generated", async () => {
  // The fields NotifyFailure sends in generated/sfn/migrate.asl.json.
  const payload = {
    status: "FAILED",
    environment: "dev",
    execution: EXECUTION,
    state_machine: "dev-db-migrate",
    image: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/dev/db-migrate@sha256:" + "a".repeat(64),
    git_sha: SHA,
    error: "Migration.NonZeroExit",
    cause: "The migration container exited with code 1",
  };
  await notify(payload, env(), recorder());
  const body = JSON.parse(received.find((r) => r.url.startsWith("/github/")).body);
  assert.equal(body.state, "failure");
  assert.match(body.description, /Migration\.NonZeroExit$/);

  secretValue = `${base}/hooks/T000/B000/PLANTEDwebhookSECRET`;
  await notify({ ...payload, status: "SUCCEEDED", git_sha: null, error: null, cause: null }, env({ NOTIFY_TARGET: "webhook" }), recorder());
  const hook = JSON.parse(received.filter((r) => r.url.startsWith("/hooks/")).at(-1).body);
  assert.equal(hook.text, "db-migrate/dev: migration succeeded");
});

describe("bad input fails loudly", () => {
  const bad = [
    ["not an object", "SUCCEEDED"],
    ["null", null],
    ["an unknown status", { ...success, status: "RUNNING" }],
    ["no execution", { ...success, execution: undefined }],
    ["a short sha", { ...success, git_sha: "abc123" }],
    ["a failure without error", { ...failure, error: undefined }],
    ["a non-string cause", { ...failure, cause: { nested: true } }],
  ];
  for (const [name, payload] of bad) {
    test(name, async () => {
      assert.throws(() => parsePayload(payload), PayloadError);
      await assert.rejects(notify(payload, env(), recorder()), PayloadError);
      assert.equal(received.length, 0, "nothing is sent for a bad payload");
    });
  }

  test("an unknown target is refused before the secret is read", async () => {
    await assert.rejects(notify(success, env({ NOTIFY_TARGET: "email" }), recorder()), /NOTIFY_TARGET must be/);
    assert.equal(received.length, 0);
  });
});

test("redact replaces every occurrence and ignores empty secrets", () => {
  assert.equal(redact("a SECRET b SECRET", ["SECRET", "", undefined]), "a *** b ***");
});

test("signatures match an independent SigV4 implementation (botocore)", () => {
  // The expected value was computed with botocore 1.x SigV4Auth (the AWS SDK for Python) for the
  // same request, credentials and clock.
  const headers = signRequest({
    url: "https://secretsmanager.ap-northeast-1.amazonaws.com/",
    region: "ap-northeast-1",
    service: "secretsmanager",
    target: "secretsmanager.GetSecretValue",
    body: '{"SecretId":"dev/notify"}',
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session-token" },
    now: new Date("2026-01-02T03:04:05Z"),
  });
  assert.equal(headers["x-amz-date"], "20260102T030405Z");
  assert.equal(headers.authorization, EXPECTED_AUTHORIZATION);
});

const EXPECTED_AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/ap-northeast-1/secretsmanager/aws4_request, " +
  "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, " +
  "Signature=2ec41ca6ea1088687caa97ea0dfd642228266c17d7e2fb8694ad2ce2bc3a3742";
