//! Field mappings (`--map role=field`) and typed access to a row's fields with errors that name
//! the field.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::{DataError, Location, RowError};

/// Which field of the user's rows plays which role (`prompt`, `id`, `tests`, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldMap {
    entries: BTreeMap<String, String>,
}

impl FieldMap {
    /// Parse `role=field` specs; roles outside `roles` are refused with the list of valid ones.
    pub fn parse(specs: &[String], roles: &[&str]) -> Result<FieldMap, DataError> {
        let mut entries = BTreeMap::new();
        for spec in specs {
            let (role, field) = spec.split_once('=').ok_or_else(|| {
                DataError::Option(format!(
                    "--map `{spec}` is not ROLE=FIELD (for example --map prompt=question)"
                ))
            })?;
            let (role, field) = (role.trim(), field.trim());
            if !roles.contains(&role) {
                return Err(DataError::Option(format!(
                    "--map `{spec}`: unknown role `{role}`; roles are {}",
                    roles.join(", ")
                )));
            }
            if field.is_empty() {
                return Err(DataError::Option(format!(
                    "--map `{spec}`: empty field name"
                )));
            }
            entries.insert(role.to_owned(), field.to_owned());
        }
        Ok(FieldMap { entries })
    }

    pub fn get(&self, role: &str) -> Option<&str> {
        self.entries.get(role).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Which fields of a `--map` some row of the file has: a mapped field that no row has is a typo
/// (`--map tests=check` for a file whose field is `checks`), which would otherwise import every
/// row without what it maps, silently.
pub(crate) struct MapSeen {
    /// (role, field, some row has it)
    fields: Vec<(String, String, bool)>,
    /// The first row's fields, for the message.
    names: Option<String>,
}

impl MapSeen {
    pub fn new(map: &FieldMap) -> MapSeen {
        MapSeen {
            fields: map
                .entries
                .iter()
                .map(|(r, f)| (r.clone(), f.clone(), false))
                .collect(),
            names: None,
        }
    }

    pub fn row(&mut self, row: &Row) {
        for (_, field, seen) in self.fields.iter_mut().filter(|f| !f.2) {
            *seen = row.obj.contains_key(field.as_str());
        }
        if self.names.is_none() {
            self.names = Some(row.field_names());
        }
    }

    /// The refusal for a row that lacks a mapped field no row before it had either (most
    /// likely the `--map` names no field of the file: `--map id=qid` for a file whose field is
    /// `question_id`): said as the `--map`'s fault, with the first row's fields, instead of the
    /// row's "field `qid`: missing". `None` for any other row error.
    pub fn explain(&self, path: &Path, e: &RowError) -> Option<DataError> {
        let field = e.field.as_deref().filter(|_| e.message == "missing")?;
        let (role, f, _) = self
            .fields
            .iter()
            .find(|(_, f, seen)| f == field && !seen)?;
        let names = self.names.as_ref()?;
        Some(DataError::Option(format!(
            "--map {role}={f}: {} of {} has no field `{f}`, nor has any row before it (the \
             first row has: {names}); fix the field's name",
            e.location,
            path.display()
        )))
    }

    /// `Err` naming every mapped field no row of `path` had (and the fields its first row
    /// has), once some row was read.
    pub fn check(&self, path: &Path) -> Result<(), DataError> {
        let missing: Vec<&(String, String, bool)> = self.fields.iter().filter(|f| !f.2).collect();
        let Some(names) = self.names.as_ref().filter(|_| !missing.is_empty()) else {
            return Ok(());
        };
        let specs: Vec<String> = missing.iter().map(|(r, f, _)| format!("{r}={f}")).collect();
        let fields: Vec<String> = missing.iter().map(|(_, f, _)| format!("`{f}`")).collect();
        Err(DataError::Option(format!(
            "--map {}: no row of {} has a field {} (its first row has: {names}); fix the \
             field's name",
            specs.join(", "),
            path.display(),
            fields.join(" or ")
        )))
    }
}

/// A JSON object row with its location, for typed field access.
pub(crate) struct Row<'a> {
    pub loc: Location,
    pub obj: &'a Map<String, Value>,
}

impl<'a> Row<'a> {
    pub fn new(loc: Location, value: &'a Value) -> Result<Row<'a>, RowError> {
        match value {
            Value::Object(obj) => Ok(Row { loc, obj }),
            other => Err(RowError::row(
                loc,
                format!("expected a JSON object, found {}", kind(other)),
            )),
        }
    }

    fn present(&self, field: &str) -> Option<&'a Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.present(field).is_some()
    }

    pub fn str_req(&self, field: &str) -> Result<&'a str, RowError> {
        self.str_opt(field)?
            .ok_or_else(|| RowError::field(self.loc, field, "missing"))
    }

    pub fn str_opt(&self, field: &str) -> Result<Option<&'a str>, RowError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(field, "a string", other)),
        }
    }

    /// A string or an integer, as text (ids are often numbers: MBPP's task_id).
    pub fn id_opt(&self, field: &str) -> Result<Option<String>, RowError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong(field, "a non-empty string or an integer", other)),
        }
    }

    /// A string, or a list of strings (joined with newlines).
    pub fn text_or_list_opt(&self, field: &str) -> Result<Option<String>, RowError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.as_str()),
                        other => {
                            return Err(RowError::field(
                                self.loc,
                                field,
                                format!("item {i} should be a string, found {}", kind(other)),
                            ));
                        }
                    }
                }
                Ok(Some(out.join("\n")))
            }
            Some(other) => Err(self.wrong(field, "a string or a list of strings", other)),
        }
    }

    pub fn f64_opt(&self, field: &str) -> Result<Option<f64>, RowError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(self.wrong(field, "a number", other)),
        }
    }

    pub fn i64_opt(&self, field: &str) -> Result<Option<i64>, RowError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(other) => Err(self.wrong(field, "an integer", other)),
        }
    }

    fn wrong(&self, field: &str, expected: &str, found: &Value) -> RowError {
        RowError::field(
            self.loc,
            field,
            format!("expected {expected}, found {}", kind(found)),
        )
    }

    pub fn field_names(&self) -> String {
        self.obj
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn map_specs_are_validated() {
        let roles = ["prompt", "id"];
        let m = FieldMap::parse(&["prompt=question".into()], &roles).unwrap();
        assert_eq!(m.get("prompt"), Some("question"));
        let e = FieldMap::parse(&["promt=q".into()], &roles).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown role `promt`; roles are prompt, id"),
            "{e}"
        );
        assert!(FieldMap::parse(&["prompt".into()], &roles).is_err());
    }

    #[test]
    fn typed_access_names_the_field_and_the_type_found() {
        let v = json!({"a": "x", "n": 3, "l": ["p", 2], "z": null});
        let row = Row::new(Location::Line(7), &v).unwrap();
        assert_eq!(row.str_req("a").unwrap(), "x");
        assert_eq!(row.id_opt("n").unwrap().as_deref(), Some("3"));
        assert_eq!(row.str_opt("z").unwrap(), None);
        let e = row.str_req("n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 7: field `n`: expected a string, found a number"
        );
        let e = row.text_or_list_opt("l").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 7: field `l`: item 1 should be a string, found a number"
        );
        assert_eq!(
            row.str_req("q").unwrap_err().to_string(),
            "line 7: field `q`: missing"
        );
    }
}
