//! Struct plans: an opt-in fast path for transforms that rewrite the fields of a struct
//! key or value the same way for every record of one schema (InsertField, MaskField,
//! ReplaceField, …).
//!
//! Such a transform implements [`StructPlans`] next to [`Transform`] and describes, once
//! per input schema, where each output field comes from. A host that applies plans itself
//! (Sluice does, in a chain) then rewrites the records a plan fits without calling the
//! plugin at all. On the packed interface
//! the SDK then rewrites each record's bytes directly: it copies the record head, the other
//! side and the headers through unchanged and builds the struct from slices of the input,
//! without decoding the record into a [`Record`](crate::Record) and encoding it again. For
//! small records that decode/encode is most of what a transform costs.
//!
//! A plan must produce exactly what [`Transform::apply`](crate::Transform::apply) produces
//! for a record whose side is a non-null struct of that schema. Whenever a record does not
//! fit the plan (a null or non-struct side, a field whose value does not match its schema,
//! a partition, offset or timestamp the plan needs but the record lacks) the SDK gives that
//! record to `apply`, so only the common case has to be planned.

use crate::record::Side;
use crate::schema::SchemaRef;
use crate::transform::Transform;
use crate::value::Value;

/// The struct-plan fast path of a [`Transform`]. Implement it next to `Transform` and
/// export with `export_transform!(MyTransform: StructPlans)`.
///
/// ```
/// use sluice_plugin_sdk::*;
///
/// /// Adds the record's topic as a last field `topic` of struct values.
/// struct AddTopic;
///
/// impl Transform for AddTopic {
///     fn spec() -> PluginSpec {
///         PluginSpec::new("add-topic", "0.1.0")
///     }
///     fn create(_class: &str, _config: Config) -> Result<Self, String> {
///         Ok(AddTopic)
///     }
///     fn apply(&mut self, mut record: Record) -> Outcome {
///         let topic = Value::from(record.topic.clone());
///         let done = record.update_side(Side::Value, |schema, value| match (schema, value) {
///             (Some(s), Value::Struct(st)) => {
///                 let out = with_topic(&s);
///                 let (_, mut values) = st.into_parts();
///                 values.push(topic);
///                 Ok((Some(out.clone()), Value::Struct(Struct::from_values(out, values)?)))
///             }
///             other => Ok::<_, DataError>(other),
///         });
///         match done {
///             Ok(()) => Outcome::Keep(record),
///             Err(e) => Outcome::Fail(e.to_string()),
///         }
///     }
/// }
///
/// impl StructPlans for AddTopic {
///     fn plan_side(&self) -> Side {
///         Side::Value
///     }
///     fn struct_plan(&mut self, input: &SchemaRef) -> Option<StructPlan> {
///         let mut fields: Vec<FieldSource> = (0..input.fields.len())
///             .map(|index| FieldSource::Input { index, null_as_default: false })
///             .collect();
///         fields.push(FieldSource::Topic);
///         Some(StructPlan::new(with_topic(input), fields))
///     }
/// }
///
/// fn with_topic(input: &SchemaRef) -> SchemaRef {
///     let mut out = (**input).clone();
///     out.fields.push(Field { name: "topic".into(), schema: Schema::string().into_ref() });
///     out.into_ref()
/// }
///
/// // In a plugin crate: sluice_plugin_sdk::export_transform!(AddTopic: StructPlans);
/// # let user = Schema::struct_builder().field("id", Schema::int64()).build_ref();
/// # let record = Record::new("t").with_value(
/// #     Some(user.clone()),
/// #     Value::Struct(Struct::from_values(user, vec![Value::Int64(1)]).unwrap()),
/// # );
/// # testing::check_struct_plans::<AddTopic>("add-topic", &Config::default(), &[record]);
/// ```
pub trait StructPlans: Transform {
    /// The side whose struct [`struct_plan`](Self::struct_plan) rewrites.
    fn plan_side(&self) -> Side;

    /// How every record whose [`plan_side`](Self::plan_side) is a non-null struct of schema
    /// `input` is rewritten; `None` sends such records through
    /// [`apply`](Transform::apply). The plan must produce exactly what `apply` would.
    /// Called once per input schema, not per record.
    fn struct_plan(&mut self, input: &SchemaRef) -> Option<StructPlan>;
}

/// Where one field of the rewritten struct comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldSource {
    /// Field `index` of the input struct, unchanged. With `null_as_default`, a null reads as
    /// the input field's default when it has one (Connect's `Struct.get`).
    Input { index: usize, null_as_default: bool },
    /// Field `index` of the input struct replaced by `with`, unless the input is null: a
    /// null stays null, or (with `null_as_default` and a default on the input field) becomes
    /// `with` too, since the default would have been replaced.
    Replaced {
        index: usize,
        with: Value,
        null_as_default: bool,
    },
    /// The record's topic, as a string.
    Topic,
    /// The record's Kafka partition, as an int32.
    Partition,
    /// The record's Kafka offset, as an int64.
    Offset,
    /// The record's timestamp, as an int64 (Connect's Timestamp).
    Timestamp,
    /// The same value for every record.
    Constant(Value),
}

/// How to build the output struct from an input struct of one schema.
#[derive(Debug, Clone, PartialEq)]
pub struct StructPlan {
    /// The output struct schema, with one field per entry of `fields`.
    pub schema: SchemaRef,
    /// The source of each output field, in the output schema's field order.
    pub fields: Vec<FieldSource>,
}

impl StructPlan {
    /// A plan writing `schema`, whose fields come from `fields` in order.
    pub fn new(schema: SchemaRef, fields: Vec<FieldSource>) -> StructPlan {
        StructPlan { schema, fields }
    }
}
