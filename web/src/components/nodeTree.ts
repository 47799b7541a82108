import type { AssetNode } from '../services/nodes.ts';

export interface NodeTreeItem {
  key: string;
  value: string;
  title: string;
  node: AssetNode;
  children: NodeTreeItem[];
}

/** Turns the API's flat node list (parent ids) into a tree, roots first, siblings by name. */
export function buildNodeTree(nodes: AssetNode[]): NodeTreeItem[] {
  const items = new Map<string, NodeTreeItem>();
  for (const n of nodes) items.set(n.id, { key: n.id, value: n.id, title: n.name, node: n, children: [] });
  const roots: NodeTreeItem[] = [];
  for (const item of items.values()) {
    const parent = item.node.parent ? items.get(item.node.parent) : undefined;
    if (parent) parent.children.push(item);
    else roots.push(item);
  }
  const sort = (list: NodeTreeItem[]) => {
    list.sort((a, b) => a.title.localeCompare(b.title));
    list.forEach((i) => sort(i.children));
  };
  sort(roots);
  return roots;
}

/** The ids of a node and all its descendants. */
export function subtreeIds(nodes: AssetNode[], id: string): Set<string> {
  const out = new Set([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of nodes) if (n.parent && out.has(n.parent) && !out.has(n.id)) { out.add(n.id); grew = true; }
  }
  return out;
}
