//! Ordering steps by their dependencies.
//!
//! Each step says which objects it needs, creates and removes. Three rules give the edges:
//!
//! 1. a step that creates an object runs before the steps that need it;
//! 2. a step that refers to the old form of an object (a drop that must still find what it
//!    refers to) runs before the steps that remove or change that object;
//! 3. a step that only removes an object runs before the step that creates it again.
//!
//! Among the orders that respect those edges, the one closest to the order the differ emitted
//! the steps is chosen (Kahn's algorithm, smallest index first), so plans are deterministic and
//! read in a natural order. Steps that both remove and create the same object (altering it)
//! keep their emitted order among themselves. Steps that must run outside a transaction are
//! kept together where the edges allow: each change of run mode starts another migration file.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use crate::plan::{ObjectRef, Step};

/// The steps in an order that respects their dependencies, or the steps that form a cycle.
pub(super) fn order(steps: Vec<Step>) -> Result<Vec<Step>, Vec<String>> {
    let n = steps.len();
    let mut creators: HashMap<&ObjectRef, Vec<usize>> = HashMap::new();
    let mut removers: HashMap<&ObjectRef, Vec<usize>> = HashMap::new();
    let mut pure_removers: HashMap<&ObjectRef, Vec<usize>> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        for object in &step.creates {
            creators.entry(object).or_default().push(i);
        }
        for object in &step.removes {
            removers.entry(object).or_default().push(i);
            if !step.creates.contains(object) {
                pure_removers.entry(object).or_default().push(i);
            }
        }
    }
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut add = |from: usize, to: usize| {
        if from != to {
            edges[from].insert(to);
        }
    };
    for (i, step) in steps.iter().enumerate() {
        // Rule 1: a step runs after the steps that create what it needs. Two steps that both
        // alter the object (remove and create it) keep the order they were emitted in.
        let modifies = |s: &Step, o: &ObjectRef| s.creates.contains(o) && s.removes.contains(o);
        for object in &step.needs {
            for &creator in creators.get(object).into_iter().flatten() {
                if modifies(step, object) && modifies(&steps[creator], object) {
                    add(creator.min(i), creator.max(i));
                } else {
                    add(creator, i);
                }
            }
        }
        // Rule 2: a step that refers to the old form of an object runs before the steps that
        // remove or change it.
        for object in &step.needs_old {
            for &remover in removers.get(object).into_iter().flatten() {
                add(i, remover);
            }
        }
        // Rule 3: a removal comes before the re-creation (unless the removal needs what this
        // step creates: then it removes the new object, and rule 1 ordered them).
        for object in &step.creates {
            for &remover in pure_removers.get(object).into_iter().flatten() {
                if !steps[remover].needs.contains(object) {
                    add(remover, i);
                }
            }
        }
    }

    let mut incoming = vec![0usize; n];
    for targets in &edges {
        for &t in targets {
            incoming[t] += 1;
        }
    }
    // Ready steps wait in two queues by run mode: the plan keeps to one mode while it can, so
    // that the steps that must run outside a transaction gather in as few files as possible
    // (and the transactional ones stay atomic together), starting with the transactional ones.
    let alone = |i: usize| steps[i].run.outside_transaction();
    let mut ready: [BinaryHeap<Reverse<usize>>; 2] = [BinaryHeap::new(), BinaryHeap::new()];
    for i in (0..n).filter(|&i| incoming[i] == 0) {
        ready[usize::from(alone(i))].push(Reverse(i));
    }
    let mut mode = 0;
    let mut sequence = Vec::with_capacity(n);
    loop {
        if ready[mode].is_empty() {
            mode = 1 - mode;
        }
        let Some(Reverse(i)) = ready[mode].pop() else {
            break;
        };
        sequence.push(i);
        for &t in &edges[i] {
            incoming[t] -= 1;
            if incoming[t] == 0 {
                ready[usize::from(alone(t))].push(Reverse(t));
            }
        }
    }
    if sequence.len() < n {
        let stuck: Vec<String> = (0..n)
            .filter(|&i| incoming[i] > 0)
            .map(|i| steps[i].sql.clone())
            .collect();
        return Err(stuck);
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    Ok(sequence
        .into_iter()
        .map(|i| slots[i].take().expect("each step once"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::QualName;

    fn rel(name: &str) -> ObjectRef {
        ObjectRef::Relation {
            name: QualName::new("s", name),
        }
    }

    fn sqls(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.sql.as_str()).collect()
    }

    #[test]
    fn creates_before_needs_and_drops_before_removal() {
        let steps = vec![
            Step::new("v", "create view v")
                .needs([rel("t")])
                .creates([rel("v")]),
            Step::new("t", "create table t").creates([rel("t")]),
            Step::new("old", "drop table old").removes([rel("old")]),
            Step::new("oldv", "drop view oldv")
                .needs_old([rel("old")])
                .removes([rel("oldv")]),
        ];
        let ordered = order(steps).unwrap();
        assert_eq!(
            sqls(&ordered),
            [
                "create table t",
                "create view v",
                "drop view oldv",
                "drop table old"
            ]
        );
    }

    #[test]
    fn drop_before_recreate_and_alterations_keep_their_order() {
        let steps = vec![
            Step::new("v", "create view v")
                .needs([rel("t")])
                .creates([rel("v")]),
            Step::new("t", "alter t 1")
                .needs([rel("t")])
                .removes([rel("t")])
                .creates([rel("t")]),
            Step::new("t", "alter t 2")
                .needs([rel("t")])
                .removes([rel("t")])
                .creates([rel("t")]),
            Step::new("v", "drop view v")
                .needs_old([rel("t")])
                .removes([rel("v")]),
        ];
        let ordered = order(steps).unwrap();
        assert_eq!(
            sqls(&ordered),
            ["drop view v", "alter t 1", "alter t 2", "create view v"]
        );
    }

    #[test]
    fn steps_of_one_run_mode_stay_together() {
        let steps = vec![
            Step::new("t", "add constraint not valid").creates([rel("c")]),
            Step::new("t", "validate").needs([rel("c")]).apart(),
            Step::new("i", "create index concurrently").alone(),
            Step::new("u", "comment").needs([rel("c")]),
        ];
        let ordered = order(steps).unwrap();
        assert_eq!(
            sqls(&ordered),
            [
                "add constraint not valid",
                "comment",
                "validate",
                "create index concurrently"
            ]
        );
    }

    #[test]
    fn cycles_are_reported() {
        let steps = vec![
            Step::new("a", "a").needs([rel("b")]).creates([rel("a")]),
            Step::new("b", "b").needs([rel("a")]).creates([rel("b")]),
        ];
        assert_eq!(order(steps).unwrap_err(), ["a", "b"]);
    }
}
