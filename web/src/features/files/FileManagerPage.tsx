import { useRef, useState, type DragEvent } from 'react';
import { Alert, App, Breadcrumb, Button, Flex, Input, Modal, Space, Table, Typography } from 'antd';
import { ArrowUpOutlined, DeleteOutlined, DownloadOutlined, EditOutlined, FileOutlined, FolderAddOutlined, FolderOutlined, LinkOutlined, ReloadOutlined, UploadOutlined } from '@ant-design/icons';
import { useParams, useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Page } from '../../components/Page.tsx';
import { formatBytes, formatTime } from '../../i18n/format.ts';
import { errorText } from '../../components/apiErrors.ts';
import { ApiError } from '../../services/api.ts';
import { childPath, filesService, isDirectory, parentPath, pathCrumbs, type FileTarget, type RemoteEntry } from '../../services/files.ts';
import { UploadList } from './UploadList.tsx';
import { useUploads } from './useUploads.ts';
import { RowActions } from '../../components/RowActions.tsx';

/**
 * The web file manager: an asset's files as the system user sees them over SFTP, through the
 * bastion's own SFTP pipeline (the same rights and FileTransfer rows as `sftp -P 2222`).
 * The directory is in the URL (`?path=`), so Back and links work.
 */
export function FileManagerPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const { asset = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const systemUser = params.get('systemUser') ?? undefined;
  const target: FileTarget = { asset, systemUser };
  const wanted = params.get('path') ?? undefined;
  const key = ['files', asset, systemUser ?? '', wanted ?? '~'] as const;
  const listing = useQuery({ queryKey: key, queryFn: () => filesService.list(target, wanted), retry: false });
  const dir = listing.data?.path ?? wanted ?? '';
  const refresh = () => void qc.invalidateQueries({ queryKey: ['files', asset] });
  const uploads = useUploads(target, refresh);
  const picker = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [naming, setNaming] = useState<{ kind: 'mkdir' } | { kind: 'rename'; entry: RemoteEntry } | null>(null);
  const [name, setName] = useState('');

  const go = (path: string) => {
    const next = new URLSearchParams(params);
    next.set('path', path);
    setParams(next);
  };
  const failed = (e: unknown) => void message.error(errorText(e));
  const mkdir = useMutation({ mutationFn: (n: string) => filesService.mkdir(target, childPath(dir, n)), onSuccess: () => { setNaming(null); refresh(); }, onError: failed });
  const rename = useMutation({
    mutationFn: ({ entry, to }: { entry: RemoteEntry; to: string }) => filesService.rename(target, childPath(dir, entry.name), childPath(dir, to)),
    onSuccess: () => { setNaming(null); refresh(); }, onError: failed,
  });
  const remove = useMutation({ mutationFn: (e: RemoteEntry) => filesService.remove(target, childPath(dir, e.name)), onSuccess: () => { void message.success(t('app.deleted')); refresh(); }, onError: failed });

  const addFiles = (files: FileList | null) => {
    if (!files || !dir) return;
    for (const f of Array.from(files)) uploads.start(f, dir);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    addFiles(e.dataTransfer.files);
  };
  const submitName = () => {
    const n = name.trim();
    if (!n || !naming) return;
    if (naming.kind === 'mkdir') mkdir.mutate(n);
    else rename.mutate({ entry: naming.entry, to: n });
  };

  return (
    <Page
      title={t('files.title', { asset, systemUser: systemUser ?? '' })}
      extra={(
        <>
          <Button icon={<ArrowUpOutlined />} disabled={!dir || dir === '/'} onClick={() => go(parentPath(dir))}>{t('files.up')}</Button>
          <Button icon={<ReloadOutlined />} onClick={refresh}>{t('files.refresh')}</Button>
          <Button icon={<FolderAddOutlined />} disabled={!dir} onClick={() => { setName(''); setNaming({ kind: 'mkdir' }); }}>{t('files.newFolder')}</Button>
          <Button type="primary" icon={<UploadOutlined />} disabled={!dir} onClick={() => picker.current?.click()}>{t('files.upload')}</Button>
          <input ref={picker} type="file" multiple hidden data-testid="file-input" aria-label={t('files.upload')} onChange={(e) => { addFiles(e.target.files); e.target.value = ''; }} />
        </>
      )}
    >
      {dir ? (
        <Breadcrumb separator="›" style={{ marginBottom: 12 }} items={pathCrumbs(dir).map((c) => ({ key: c.path, title: <a onClick={() => go(c.path)}>{c.name}</a> }))} />
      ) : null}
      {listing.error ? (
        // The refusal in the user's language, then the bastion's own words (which asset, which action), as sftp would print them.
        <Alert type="error" showIcon title={errorText(listing.error)} description={listing.error instanceof ApiError ? <span className="mono">{listing.error.message}</span> : undefined} style={{ marginBottom: 12 }} />
      ) : null}
      {listing.data?.truncated ? <Alert type="info" showIcon title={t('files.truncated', { count: listing.data.entries.length })} style={{ marginBottom: 12 }} /> : null}
      <UploadList uploads={uploads.list} onCancel={uploads.cancel} onReplace={uploads.replace} onDismiss={uploads.dismiss} />
      <div
        data-testid="drop-zone"
        onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        style={{ outline: dragging ? '2px dashed #1677ff' : 'none', borderRadius: 8 }}
      >
        <Typography.Paragraph type="secondary" style={{ margin: '4px 0 8px' }}>{t('files.dropHint')}</Typography.Paragraph>
        <Table<RemoteEntry>
          rowKey="name"
          size="small"
          loading={listing.isLoading}
          dataSource={listing.data?.entries ?? []}
          pagination={{ pageSize: 200, hideOnSinglePage: true }}
          locale={{ emptyText: t('files.empty') }}
          columns={[
            {
              title: t('files.name'), key: 'name',
              render: (_, e) => isDirectory(e)
                ? <a onClick={() => go(childPath(dir, e.name))}><Space>{e.type === 'symlink' ? <LinkOutlined /> : <FolderOutlined />}{e.name}</Space></a>
                : <Space>{e.type === 'symlink' ? <LinkOutlined /> : <FileOutlined />}{e.name}</Space>,
            },
            { title: t('files.size'), key: 'size', width: 120, render: (_, e) => (isDirectory(e) ? '' : formatBytes(e.size)) },
            { title: t('files.modified'), key: 'modified', width: 200, render: (_, e) => formatTime(e.modifiedAt) },
            {
              key: 'actions', width: 150,
              render: (_, e) => (
                <RowActions name={e.name} actions={[
                  ...(isDirectory(e) ? [] : [{ key: 'download', label: t('files.download'), icon: <DownloadOutlined />, download: { href: filesService.downloadUrl(target, childPath(dir, e.name)), name: e.name } }]),
                  { key: 'rename', label: t('files.rename'), icon: <EditOutlined />, onClick: () => { setName(e.name); setNaming({ kind: 'rename', entry: e }); } },
                  { key: 'delete', label: t('common.delete'), icon: <DeleteOutlined />, danger: true, onClick: () => remove.mutate(e), confirm: { title: t('files.deleteConfirm', { name: e.name }), okText: t('common.delete') } },
                ]} />
              ),
            },
          ]}
        />
      </div>
      <Modal
        open={naming !== null}
        title={naming?.kind === 'rename' ? t('files.renameTitle', { name: naming.entry.name }) : t('files.newFolder')}
        okText={naming?.kind === 'rename' ? t('files.rename') : t('common.create')}
        cancelText={t('common.cancel')}
        confirmLoading={mkdir.isPending || rename.isPending}
        onOk={submitName}
        onCancel={() => setNaming(null)}
        destroyOnHidden
      >
        <Flex vertical gap={4}>
          <label htmlFor="file-name">{t('files.name')}</label>
          <Input id="file-name" autoFocus value={name} onChange={(e) => setName(e.target.value)} onPressEnter={submitName} maxLength={255} />
        </Flex>
      </Modal>
    </Page>
  );
}
