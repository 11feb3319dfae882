// SPDX-License-Identifier: GPL-2.0
/*
 * pages.c - the per-P pages: node-local allocation and mmap.
 *
 * Each P has one zeroed page, allocated on the NUMA node of the CPU the P
 * is numbered after, with its struct mnsched_pstate at the start.  The
 * pages are charged to the memory cgroup of the process that configures
 * them (MNSCHED_GFP), and uncharged wherever their last reference goes: our
 * __free_page() (free_pages_prepare()) or, when a mapping outlives the
 * group, the unmap's put (__folio_put() -> mem_cgroup_uncharge(), which
 * handles kmem pages); the same on 6.1 and 6.12, and kmod_harden checks
 * memory.current after both.  The kernel reads and writes a P through its
 * direct-map address (no faults: the preempt notifiers read it under the
 * runqueue lock); user space maps the pages shared, read-write, never
 * executable.
 */
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/topology.h>

#include "compat.h"
#include "mn.h"

static int mnsched_p_node(u32 i)
{
	unsigned int n = num_online_cpus();
	unsigned int cpu;

	if (!n)
		return NUMA_NO_NODE;
	cpu = cpumask_nth(i % n, cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		return NUMA_NO_NODE;
	return cpu_to_node(cpu);
}

/**
 * mnsched_pages_alloc() - allocate and initialize the P pages of a group
 * @g: the group, not yet configured (cfg_lock held)
 * @nr_p: number of Ps, 1..MNSCHED_MAX_P
 *
 * Return: 0 or -ENOMEM, also at the caller's memory cgroup limit (nothing
 * left allocated).
 */
int mnsched_pages_alloc(struct mnsched_group *g, u32 nr_p)
{
	u32 i;

	g->pages = kcalloc(nr_p, sizeof(*g->pages), MNSCHED_GFP);
	g->pst = kcalloc(nr_p, sizeof(*g->pst), MNSCHED_GFP);
	g->ps = kcalloc(nr_p, sizeof(*g->ps), MNSCHED_GFP);
	if (!g->pages || !g->pst || !g->ps)
		goto err;
	atomic_long_add(3, &mnsched_allocs[MNSCHED_A_ARRAYS]);
	for (i = 0; i < nr_p; i++) {
		struct page *pg;

		/* Charged to the caller's memcg; uncharged when freed. */
		pg = alloc_pages_node(mnsched_p_node(i), MNSCHED_GFP | __GFP_ZERO, 0);
		if (!pg)
			goto err_pages;
		atomic_long_inc(&mnsched_allocs[MNSCHED_A_PAGES]);
		g->pages[i] = pg;
		g->pst[i] = page_address(pg);
		g->pst[i]->m_id = -1;
		g->pst[i]->state = MNSCHED_P_IDLE;
		raw_spin_lock_init(&g->ps[i].lock);
	}
	return 0;

err_pages:
	while (i--) {
		__free_page(g->pages[i]);
		atomic_long_dec(&mnsched_allocs[MNSCHED_A_PAGES]);
	}
	atomic_long_sub(3, &mnsched_allocs[MNSCHED_A_ARRAYS]);
err:
	kfree(g->pages);
	kfree(g->pst);
	kfree(g->ps);
	g->pages = NULL;
	g->pst = NULL;
	g->ps = NULL;
	return -ENOMEM;
}

/**
 * mnsched_pages_free() - free the P pages of a group
 * @g: the group, being destroyed, or not configured (cfg_lock held)
 * @nr_p: number of pages mnsched_pages_alloc() allocated
 *
 * Mappings still present keep their own page references.
 */
void mnsched_pages_free(struct mnsched_group *g, u32 nr_p)
{
	u32 i;

	if (!g->pages)
		return;
	for (i = 0; i < nr_p; i++) {
		__free_page(g->pages[i]);
		atomic_long_dec(&mnsched_allocs[MNSCHED_A_PAGES]);
	}
	kfree(g->pages);
	kfree(g->pst);
	kfree(g->ps);
	g->pages = NULL;
	g->pst = NULL;
	g->ps = NULL;
	atomic_long_sub(3, &mnsched_allocs[MNSCHED_A_ARRAYS]);
}

/*
 * A P mapping belongs to the group's address space alone.  mnsched_mmap() marks
 * it VM_DONTCOPY, but madvise(MADV_DOFORK) clears that (only VM_IO stops
 * it, and VM_IO would also stop GUP: process_vm_readv(), which
 * tools/mnsched-top reads the P counters with, ptrace and /proc/PID/mem),
 * so a fork may copy the VMA.  The child's copy must never reach the
 * parent's live P pages:
 *  - the pages are mapped at fault time, not with vm_insert_page(): the
 *    VMA is neither VM_MIXEDMAP nor VM_PFNMAP and has no anon_vma, so
 *    fork's copy_page_range() copies no page table entries of it;
 *  - mnsched_vm_open() marks a copy in another mm VM_WIPEONFORK, which makes
 *    dup_mmap() skip copy_page_range() whatever else would ask for it
 *    (on 6.1 and 6.12 dup_mmap() calls ->open before it tests the flag);
 *  - mnsched_vm_fault() maps a page only into the group's mm: the child's
 *    accesses get SIGBUS.
 * Within the owner, a fault after madvise(MADV_DONTNEED) maps the same
 * page again.
 */
static vm_fault_t mnsched_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mnsched_group *g = vma->vm_file->private_data;
	struct page *page;

	/* The VMA holds the file, which holds the group; mmap saw nr_p set. */
	if (vma->vm_mm != g->mm || vmf->pgoff >= smp_load_acquire(&g->nr_p))
		return VM_FAULT_SIGBUS;
	page = g->pages[vmf->pgoff];
	get_page(page);
	vmf->page = page;
	return 0;
}

static void mnsched_vm_open(struct vm_area_struct *vma)
{
	struct mnsched_group *g = vma->vm_file->private_data;

	/* A split or mremap in the owner's mm, or a fork's copy (mm locked). */
	if (vma->vm_mm != g->mm)
		mnsched_vm_flags_set(vma, VM_WIPEONFORK);
}

static const struct vm_operations_struct mnsched_vm_ops = {
	.open = mnsched_vm_open,
	.fault = mnsched_vm_fault,
};

/**
 * mnsched_mmap() - map P pages: offset 0 is P 0, one page per P
 * @file: the /dev/mnsched file
 * @vma: the new mapping
 *
 * The pages are mapped as they are touched (mnsched_vm_fault()).
 *
 * Return: 0; -EPERM from another process or program (mnsched_group_caller()) or
 * for an executable mapping; -EINVAL before CONFIG, for a private mapping,
 * or past the last P.
 */
int mnsched_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mnsched_group *g = file->private_data;
	unsigned long npages = vma_pages(vma);
	unsigned long pgoff = vma->vm_pgoff;
	u32 nr_p;

	if (vma->vm_mm != g->mm || !mnsched_group_caller(g))
		return -EPERM;
	/* Pairs with the release in mnsched_ioc_config(): the pages are set up. */
	nr_p = smp_load_acquire(&g->nr_p);
	if (!nr_p)
		return -EINVAL;
	/* MAP_SHARED (of a read-only file, VM_SHARED is cleared, not VM_MAYSHARE). */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (pgoff >= nr_p || npages == 0 || npages > nr_p - pgoff)
		return -EINVAL;

	mnsched_vm_flags_clear(vma, VM_MAYEXEC);
	mnsched_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY);
	vma->vm_ops = &mnsched_vm_ops;
	return 0;
}
