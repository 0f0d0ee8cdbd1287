//! An IAM policy document (identity or trust policy).

use std::collections::BTreeMap;

use serde::Serialize;

pub const POLICY_VERSION: &str = "2012-10-17";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: POLICY_VERSION,
            statement,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<ConditionOperator, BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Serialize)]
pub enum Principal {
    #[serde(rename = "AWS")]
    Aws(Vec<String>),
    Federated(String),
    Service(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ConditionOperator {
    StringEquals,
    /// Also true when the key is absent from the request (IAM's negated operators).
    StringNotEquals,
    StringLike,
    ArnLike,
    Bool,
    /// Some value of a multi-valued key (`aws:TagKeys`) is one of the listed values.
    #[serde(rename = "ForAnyValue:StringEquals")]
    ForAnyValueStringEquals,
}

impl Statement {
    /// An `Allow` of `actions` on `resources`.
    pub fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
        Statement {
            sid: sid.to_owned(),
            effect: Effect::Allow,
            principal: None,
            action: actions.iter().map(|a| (*a).to_owned()).collect(),
            resource: resources,
            condition: BTreeMap::new(),
        }
    }

    /// A `Deny` of `actions` on `resources`: it wins over every `Allow`, in any policy.
    pub fn deny(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
        Statement {
            effect: Effect::Deny,
            ..Statement::allow(sid, actions, resources)
        }
    }

    /// A trust statement: `principal` may perform `action` (an `sts:AssumeRole*`).
    pub fn trust(sid: &str, principal: Principal, action: &str) -> Statement {
        Statement {
            sid: sid.to_owned(),
            effect: Effect::Allow,
            principal: Some(principal),
            action: vec![action.to_owned()],
            resource: Vec::new(),
            condition: BTreeMap::new(),
        }
    }

    pub fn when(
        mut self,
        operator: ConditionOperator,
        key: &str,
        values: Vec<String>,
    ) -> Statement {
        self.condition
            .entry(operator)
            .or_default()
            .insert(key.to_owned(), values);
        self
    }
}
