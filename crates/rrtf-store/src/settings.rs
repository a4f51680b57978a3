//! Project settings, append-only (the latest row of a key is in force; the earlier ones say who
//! changed it when). Today one: the review policy.

use serde::{Deserialize, Serialize};

use crate::{Result, ReviewAction, Store, StoreError};

const REVIEW_POLICY: &str = "review.policy";

/// How reviews are taken (`rrtf review policy`): the actions that must give a reason. The
/// store refuses such a review without one, whoever writes it (CLI, web review).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewPolicy {
    /// Never `note` (a note is its own text).
    pub require_reason: Vec<ReviewAction>,
}

impl ReviewPolicy {
    pub fn requires_reason(&self, action: ReviewAction) -> bool {
        self.require_reason.contains(&action)
    }
}

/// The policy in force, who set it and when (None: never set, the default).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyState {
    pub policy: ReviewPolicy,
    pub set_by: Option<String>,
    pub set_at: Option<String>,
}

impl Store {
    /// The review policy in force (the default, nothing required, until one is set).
    pub async fn review_policy(&self) -> Result<PolicyState> {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT value_json, set_by, created_at FROM settings WHERE key = $1 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(REVIEW_POLICY)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => PolicyState {
                policy: ReviewPolicy::default(),
                set_by: None,
                set_at: None,
            },
            Some((json, by, at)) => PolicyState {
                policy: serde_json::from_str(&json).map_err(|_| StoreError::Corrupt {
                    column: "settings.value_json",
                    value: json.clone(),
                })?,
                set_by: Some(by),
                set_at: Some(at),
            },
        })
    }

    /// Put `policy` in force (appended: the earlier policies stay on record).
    pub async fn set_review_policy(&self, policy: &ReviewPolicy, by: &str) -> Result<()> {
        if policy.requires_reason(ReviewAction::Note) {
            return Err(StoreError::Invalid(
                "a note cannot require a reason: its text is the reason".into(),
            ));
        }
        let mut p = policy.clone();
        p.require_reason.sort_by_key(|a| a.as_str());
        p.require_reason.dedup();
        sqlx::query("INSERT INTO settings (key, value_json, set_by) VALUES ($1, $2, $3)")
            .bind(REVIEW_POLICY)
            .bind(serde_json::to_string(&p).expect("policy serializes"))
            .bind(by)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
