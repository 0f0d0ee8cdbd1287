//! A small IAM evaluator for the generated policy documents, and the escalation closure built on
//! it: what a role can reach by rewriting the policies, trust, code or definitions of what it
//! controls, and by passing or assuming other roles, iterated to a fixpoint.
//!
//! It is conservative where AWS is subtle: a role that can pass a role to a service whose code or
//! definition it controls is counted as holding that role; an external id is assumed known; a
//! role that can be created may be created with any trust policy.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// An API request as IAM sees it.
pub struct Request<'a> {
    pub principal: Principal<'a>,
    pub action: &'a str,
    pub resource: &'a str,
    pub context: BTreeMap<&'a str, &'a str>,
}

pub enum Principal<'a> {
    Aws(&'a str),
    Federated(&'a str),
    Service(&'a str),
    /// The identity whose own policy is evaluated (no Principal element).
    Identity,
}

/// IAM's wildcard match: `*` any run, `?` one character (linear-time, with one backtrack point).
pub fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((star_p, star_v)) = star {
            pi = star_p + 1;
            vi = star_v + 1;
            star = Some((star_p, star_v + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

pub fn as_list(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub fn statements(document: &Value) -> Vec<&Value> {
    match &document["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    }
}

fn principal_matches(statement: &Value, principal: &Principal) -> bool {
    let Some(element) = statement.get("Principal") else {
        return matches!(principal, Principal::Identity);
    };
    if element == "*" {
        return !matches!(principal, Principal::Identity);
    }
    let (key, who) = match principal {
        Principal::Aws(arn) => ("AWS", *arn),
        Principal::Federated(provider) => ("Federated", *provider),
        Principal::Service(service) => ("Service", *service),
        Principal::Identity => return false,
    };
    element.get(key).is_some_and(|v| as_list(v).contains(&who))
}

fn conditions_hold(statement: &Value, context: &BTreeMap<&str, &str>) -> bool {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(operator, tests)| {
        tests.as_object().unwrap().iter().all(|(key, expected)| {
            let expected = as_list(expected);
            let actual = context.get(key.as_str());
            match operator.as_str() {
                // IAM's negated operators hold when the key is absent.
                "StringNotEquals" => actual.is_none_or(|a| !expected.contains(a)),
                // Vacuously false without values; the context holds one value per key here.
                "ForAnyValue:StringEquals" => actual.is_some_and(|a| expected.contains(a)),
                _ => {
                    let Some(actual) = actual else {
                        return false; // a missing key never satisfies a positive operator
                    };
                    match operator.as_str() {
                        "StringEquals" | "Bool" => expected.contains(actual),
                        "StringLike" | "ArnLike" => expected.iter().any(|p| glob(p, actual)),
                        other => panic!("the evaluator does not know {other}"),
                    }
                }
            }
        })
    })
}

fn statement_matches(s: &Value, request: &Request) -> bool {
    principal_matches(s, &request.principal)
        && as_list(&s["Action"])
            .iter()
            .any(|a| glob(&a.to_lowercase(), &request.action.to_lowercase()))
        && (s.get("Principal").is_some()
            || as_list(&s["Resource"])
                .iter()
                .any(|r| glob(r, request.resource)))
        && conditions_hold(s, &request.context)
}

/// Allowed when an Allow statement of one of `documents` matches and no Deny of any does.
pub fn allowed_by_all(documents: &[&Value], request: &Request) -> bool {
    let matching = |effect: &str| {
        documents.iter().any(|document| {
            statements(document)
                .iter()
                .any(|s| s["Effect"] == effect && statement_matches(s, request))
        })
    };
    matching("Allow") && !matching("Deny")
}

/// Allowed when an Allow statement matches and no Deny does (IAM's default deny otherwise).
pub fn allowed(document: &Value, request: &Request) -> bool {
    allowed_by_all(&[document], request)
}

/// A role of the world the closure walks.
#[derive(Clone)]
pub struct RoleState {
    pub label: String,
    pub arn: String,
    pub trust: Value,
    /// Its identity policies (the generated one, and any attached by hand-written Terraform).
    pub policies: Vec<Value>,
    /// Whether the boundary (`World::boundary`) is set on it.
    pub bounded: bool,
    /// `false` for a role that does not exist yet (a name an attacker could create).
    pub exists: bool,
}

/// A Lambda function or state machine, and the role it runs with.
#[derive(Clone)]
pub struct Runner {
    pub arn: String,
    pub role_arn: String,
}

/// Everything the closure needs to know about an account.
pub struct World {
    pub account: String,
    pub roles: Vec<RoleState>,
    pub boundary_arn: String,
    pub boundary: Value,
    pub functions: Vec<Runner>,
    pub state_machines: Vec<Runner>,
    pub task_definitions: String,
    pub cluster: String,
    pub external_id: String,
}

/// What an identity in the closure may do: its policies (or anything, when an attacker writes
/// them), under the boundary when one is set.
#[derive(Clone, Debug)]
pub struct Identity {
    pub label: String,
    pub arn: String,
    /// `None`: anything (the attacker wrote the policy).
    pub policies: Option<Vec<Value>>,
    pub boundary: Option<Value>,
}

impl Identity {
    pub fn allows(&self, action: &str, resource: &str, context: &BTreeMap<&str, &str>) -> bool {
        let request = Request {
            principal: Principal::Identity,
            action,
            resource,
            context: context.clone(),
        };
        let own = match &self.policies {
            None => true,
            Some(policies) => allowed_by_all(&policies.iter().collect::<Vec<_>>(), &request),
        };
        own && self.boundary.as_ref().is_none_or(|b| allowed(b, &request))
    }

    /// The Allow statements that bound what it may do: its own, or the boundary's when its own
    /// are anything.
    pub fn effective_statements(&self) -> Option<Vec<Value>> {
        let documents = match (&self.policies, &self.boundary) {
            (Some(policies), _) => policies.clone(),
            (None, Some(boundary)) => vec![boundary.clone()],
            (None, None) => return None,
        };
        Some(
            documents
                .iter()
                .flat_map(|d| statements(d).into_iter().cloned().collect::<Vec<_>>())
                .filter(|s| s["Effect"] == "Allow")
                .collect(),
        )
    }
}

/// The boundary a role can be given: none, ours, or another policy the attacker chooses (an AWS
/// managed `AdministratorAccess`, say), which bounds nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Boundary {
    None,
    Ours,
    Other,
}

const OTHER_BOUNDARY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

impl World {
    fn boundary_context(&self, boundary: Boundary) -> BTreeMap<&str, &str> {
        match boundary {
            Boundary::None => BTreeMap::new(),
            Boundary::Ours => {
                BTreeMap::from([("iam:PermissionsBoundary", self.boundary_arn.as_str())])
            }
            Boundary::Other => BTreeMap::from([("iam:PermissionsBoundary", OTHER_BOUNDARY)]),
        }
    }

    pub fn role(&self, label: &str) -> &RoleState {
        self.roles
            .iter()
            .find(|r| r.label == label)
            .unwrap_or_else(|| panic!("no role {label}"))
    }

    fn identity_of(&self, role: &RoleState) -> Identity {
        Identity {
            label: role.label.clone(),
            arn: role.arn.clone(),
            policies: Some(role.policies.clone()),
            boundary: role.bounded.then(|| self.boundary.clone()),
        }
    }

    /// The closure of the role `label`: every identity it can act as, directly or by the routes
    /// above, to a fixpoint.
    pub fn closure(&self, label: &str) -> Vec<Identity> {
        let mut reached = vec![self.identity_of(self.role(label))];
        loop {
            let mut grew = false;
            for role in &self.roles {
                for identity in self.gains(&reached, role) {
                    if !reached.iter().any(|r| r.label == identity.label) {
                        reached.push(identity);
                        grew = true;
                    }
                }
            }
            if !grew {
                return reached;
            }
        }
    }

    fn gains(&self, reached: &[Identity], role: &RoleState) -> Vec<Identity> {
        let can = |action: &str, resource: &str, context: &BTreeMap<&str, &str>| {
            reached
                .iter()
                .any(|identity| identity.allows(action, resource, context))
        };
        let none = BTreeMap::new();
        let arn = role.arn.as_str();

        // The boundaries the role can be made to have.
        let mut boundaries = Vec::new();
        if role.exists {
            boundaries.push(if role.bounded {
                Boundary::Ours
            } else {
                Boundary::None
            });
        }
        let current = if role.bounded {
            Boundary::Ours
        } else {
            Boundary::None
        };
        if role.exists
            && can(
                "iam:DeleteRolePermissionsBoundary",
                arn,
                &self.boundary_context(current),
            )
        {
            boundaries.push(Boundary::None);
        }
        for candidate in [Boundary::None, Boundary::Ours, Boundary::Other] {
            let context = self.boundary_context(candidate);
            if (role.exists && can("iam:PutRolePermissionsBoundary", arn, &context))
                || can("iam:CreateRole", arn, &context)
            {
                boundaries.push(candidate);
            }
        }
        boundaries.dedup();

        let created = [Boundary::None, Boundary::Ours, Boundary::Other]
            .iter()
            .any(|b| can("iam:CreateRole", arn, &self.boundary_context(*b)));
        let trust_written =
            created || (role.exists && can("iam:UpdateAssumeRolePolicy", arn, &none));
        let usable = trust_written
            || self.assumable(reached, role)
            || self.runs_as(reached, role, trust_written);
        if !usable {
            return Vec::new();
        }
        boundaries
            .into_iter()
            .map(|boundary| {
                let mut context = self.boundary_context(boundary);
                context.insert("iam:PolicyARN", OTHER_BOUNDARY);
                let written = can("iam:PutRolePolicy", arn, &context)
                    || can("iam:AttachRolePolicy", arn, &context);
                let policies = if written {
                    None
                } else if role.exists {
                    Some(role.policies.clone())
                } else {
                    Some(Vec::new())
                };
                Identity {
                    label: format!(
                        "{} ({}boundary {boundary:?})",
                        role.label,
                        if written { "policy rewritten, " } else { "" }
                    ),
                    arn: role.arn.clone(),
                    policies,
                    boundary: (boundary == Boundary::Ours).then(|| self.boundary.clone()),
                }
            })
            .map(|mut identity| {
                // The role as it is (not rewritten, its own boundary) is the same identity as the
                // role itself: label it so, so the start role is not counted twice.
                if identity.policies.as_ref() == Some(&role.policies)
                    && identity.boundary.is_some() == role.bounded
                {
                    identity.label = role.label.clone();
                }
                identity
            })
            .collect()
    }

    /// Its trust lets a reached identity in (an external id is assumed known): by naming the
    /// identity's ARN, or the account when the identity's own policy allows `sts:AssumeRole`.
    fn assumable(&self, reached: &[Identity], role: &RoleState) -> bool {
        if !role.exists {
            return false;
        }
        let root = format!("arn:aws:iam::{}:root", self.account);
        reached.iter().any(|identity| {
            let trusts = |principal: &str| {
                allowed(
                    &role.trust,
                    &Request {
                        principal: Principal::Aws(principal),
                        action: "sts:AssumeRole",
                        resource: "",
                        context: BTreeMap::from([("sts:ExternalId", self.external_id.as_str())]),
                    },
                )
            };
            trusts(&identity.arn)
                || (trusts(&root) && identity.allows("sts:AssumeRole", &role.arn, &BTreeMap::new()))
        })
    }

    /// A reached identity controls code or a definition that runs with the role: a function or
    /// state machine it can create or rewrite, a task it can run, with the role passed to it (or
    /// the role already set on it).
    fn runs_as(&self, reached: &[Identity], role: &RoleState, trust_written: bool) -> bool {
        let can = |action: &str, resource: &str, context: &BTreeMap<&str, &str>| {
            reached
                .iter()
                .any(|identity| identity.allows(action, resource, context))
        };
        let none = BTreeMap::new();
        let service_trusted = |service: &str| {
            trust_written
                || statements(&role.trust).iter().any(|s| {
                    s["Effect"] == "Allow"
                        && s.get("Principal")
                            .and_then(|p| p.get("Service"))
                            .is_some_and(|v| as_list(v).contains(&service))
                })
        };
        let passes = |service: &str| {
            service_trusted(service)
                && can(
                    "iam:PassRole",
                    &role.arn,
                    &BTreeMap::from([("iam:PassedToService", service)]),
                )
        };
        let probe_function = format!(
            "arn:aws:lambda:{}:{}:function:xtask-probe",
            region_of(&self.cluster),
            self.account
        );
        let probe_state_machine = format!(
            "arn:aws:states:{}:{}:stateMachine:xtask-probe",
            region_of(&self.cluster),
            self.account
        );
        // Lambda: code of a function that runs with the role.
        let function_with_role = self.functions.iter().any(|f| {
            f.role_arn == role.arn
                && (can("lambda:UpdateFunctionCode", &f.arn, &none)
                    || can("lambda:UpdateFunctionConfiguration", &f.arn, &none))
        });
        let function_given_role = passes("lambda.amazonaws.com")
            && (can("lambda:CreateFunction", &probe_function, &none)
                || self.functions.iter().any(|f| {
                    can("lambda:CreateFunction", &f.arn, &none)
                        || can("lambda:UpdateFunctionConfiguration", &f.arn, &none)
                }));
        // Step Functions: the definition's aws-sdk integrations call any API the role allows.
        let definition_with_role = self
            .state_machines
            .iter()
            .any(|m| m.role_arn == role.arn && can("states:UpdateStateMachine", &m.arn, &none));
        let definition_given_role = passes("states.amazonaws.com")
            && (can("states:CreateStateMachine", &probe_state_machine, &none)
                || self.state_machines.iter().any(|m| {
                    can("states:CreateStateMachine", &m.arn, &none)
                        || can("states:UpdateStateMachine", &m.arn, &none)
                }));
        // ECS: a task (its command can be overridden) with the role as task or execution role.
        let task_definition = self.task_definitions.replace('*', "1");
        let cluster = BTreeMap::from([("ecs:cluster", self.cluster.as_str())]);
        let runs_tasks = can("ecs:RunTask", &task_definition, &cluster)
            || (can("ecs:RegisterTaskDefinition", "*", &none)
                && self
                    .state_machines
                    .iter()
                    .any(|m| can("states:StartExecution", &m.arn, &none)));
        let task_with_role = passes("ecs-tasks.amazonaws.com") && runs_tasks;
        // And, more conservatively still, any role it may pass to a service the role trusts: what
        // runs there is assumed to be under its control.
        let passed = [
            "lambda.amazonaws.com",
            "states.amazonaws.com",
            "ecs-tasks.amazonaws.com",
        ]
        .iter()
        .any(|service| passes(service));
        function_with_role
            || function_given_role
            || definition_with_role
            || definition_given_role
            || task_with_role
            || passed
    }

    /// Everything the closure of `label` may do beyond `intended` (Allow statements), and every
    /// identity in it whose policy is anything and unbounded.
    pub fn escapes(&self, label: &str, intended: &[Value]) -> Vec<String> {
        self.escapes_of(label, &self.closure(label), intended)
    }

    /// [`World::escapes`] of an already computed closure.
    pub fn escapes_of(&self, label: &str, closure: &[Identity], intended: &[Value]) -> Vec<String> {
        let mut problems = Vec::new();
        for identity in closure {
            let Some(statements) = identity.effective_statements() else {
                problems.push(format!(
                    "{label} reaches {} with any permission and no boundary",
                    identity.label
                ));
                continue;
            };
            for statement in &statements {
                for uncovered in uncovered(statement, intended) {
                    problems.push(format!(
                        "{label} reaches {}: {uncovered} is outside its intended set",
                        identity.label
                    ));
                }
            }
        }
        problems
    }

    /// Does any identity of the closure of `label` allow `action` on `resource`?
    pub fn reaches(
        &self,
        label: &str,
        action: &str,
        resource: &str,
        context: &BTreeMap<&str, &str>,
    ) -> bool {
        self.closure(label)
            .iter()
            .any(|identity| identity.allows(action, resource, context))
    }
}

fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

/// The (action, resource) pairs of `statement` that no statement of `intended` covers with the
/// same or weaker conditions.
fn uncovered(statement: &Value, intended: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let conditions = statement.get("Condition").cloned().unwrap_or(json!({}));
    for action in as_list(&statement["Action"]) {
        for resource in as_list(&statement["Resource"]) {
            let covered = intended.iter().any(|t| {
                t["Effect"] == "Allow"
                    && as_list(&t["Action"])
                        .iter()
                        .any(|a| glob(&a.to_lowercase(), &action.to_lowercase()))
                    && as_list(&t["Resource"]).iter().any(|r| glob(r, resource))
                    && t.get("Condition")
                        .and_then(Value::as_object)
                        .is_none_or(|required| {
                            required.iter().all(|(operator, tests)| {
                                tests
                                    .as_object()
                                    .unwrap()
                                    .iter()
                                    .all(|(key, values)| conditions[operator][key] == *values)
                            })
                        })
            });
            if !covered {
                out.push(format!("{action} on {resource}"));
            }
        }
    }
    out
}

/// The Allow statements of `documents`.
pub fn allow_statements(documents: &[&Value]) -> Vec<Value> {
    documents
        .iter()
        .flat_map(|d| statements(d).into_iter().cloned().collect::<Vec<_>>())
        .filter(|s| s["Effect"] == "Allow")
        .collect()
}
