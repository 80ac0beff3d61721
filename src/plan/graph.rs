//! The stage graph: cycle check, `--target` pruning and parallel levels.

/// Finds a stage that depends on itself through `deps` (edges to other stage indices).
pub fn find_cycle(deps: &[Vec<usize>]) -> Option<usize> {
    // 0 = unvisited, 1 = on the current path, 2 = done
    let mut state = vec![0u8; deps.len()];
    for start in 0..deps.len() {
        if state[start] != 0 {
            continue;
        }
        // iterative DFS: (node, next edge to look at)
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            if let Some(&next) = deps[node].get(*edge) {
                *edge += 1;
                match state.get(next) {
                    Some(1) => return Some(next),
                    Some(0) => {
                        state[next] = 1;
                        stack.push((next, 0));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    None
}

/// The stages `target` needs (itself included), as a membership mask.
pub fn reachable(deps: &[Vec<usize>], target: usize) -> Vec<bool> {
    let mut keep = vec![false; deps.len()];
    let mut todo = vec![target];
    while let Some(s) = todo.pop() {
        if s >= keep.len() || keep[s] {
            continue;
        }
        keep[s] = true;
        todo.extend(deps[s].iter().copied());
    }
    keep
}

/// Level 0 for stages that need no other stage, else one more than their deepest dependency:
/// stages on the same level have no path between them and can be built at once.
/// Expects an acyclic graph.
pub fn levels(deps: &[Vec<usize>]) -> Vec<usize> {
    let mut level: Vec<Option<usize>> = vec![None; deps.len()];
    for start in 0..deps.len() {
        let mut stack = vec![start];
        while let Some(&s) = stack.last() {
            if level[s].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = deps[s]
                .iter()
                .copied()
                .filter(|&d| level[d].is_none() && !stack.contains(&d))
                .collect();
            if pending.is_empty() {
                let l = deps[s]
                    .iter()
                    .filter_map(|&d| level[d])
                    .map(|l| l + 1)
                    .max();
                level[s] = Some(l.unwrap_or(0));
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    level.into_iter().map(|l| l.unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles() {
        assert_eq!(find_cycle(&[vec![], vec![0], vec![0, 1]]), None);
        assert!(find_cycle(&[vec![1], vec![0]]).is_some());
        assert_eq!(find_cycle(&[vec![0]]), Some(0));
    }

    #[test]
    fn reach_and_levels() {
        // 0   1
        //  \ / \
        //   2   3
        //    \ /
        //     4
        let deps = vec![vec![], vec![], vec![0, 1], vec![1], vec![2, 3]];
        assert_eq!(reachable(&deps, 3), vec![false, true, false, true, false]);
        assert_eq!(levels(&deps), vec![0, 0, 1, 1, 2]);
    }
}
