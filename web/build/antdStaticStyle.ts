/**
 * Prints, on stdout, antd's CSS for the components of the app frame and of most pages, rendered
 * on the server with the app's own ConfigProvider settings (antd's documented "whole export",
 * @ant-design/static-style-extract). The stylesheet ends with antd's cache-path marker, so in the
 * browser antd finds these styles already present and does not generate or inject them again.
 *
 * Run by the Vite plugin beside it in a process of its own, because antd's class hashes depend on
 * NODE_ENV, which must be the one the browser bundle is built with.
 */
import { createElement } from 'react';
import { extractStyle } from '@ant-design/static-style-extract';
import { ConfigProvider } from 'antd';
import { ANTD_CONFIG } from '../src/app/theme.ts';

/**
 * The frame (layout, menu, header) and what nearly every page shows. Components of single pages
 * (Table, Form, Modal, DatePicker, …) are left to antd at runtime: the file is read on every
 * first visit, and a page pays only for what it uses.
 */
export const STATIC_COMPONENTS = [
  'App', 'Layout', 'Menu', 'Dropdown', 'Select', 'Button', 'Typography', 'Flex', 'Space', 'Spin',
  'Card', 'Descriptions', 'Row', 'Col', 'Tag', 'Tooltip', 'Empty', 'Input', 'message', 'notification',
];

process.stdout.write(extractStyle({ includes: STATIC_COMPONENTS, customTheme: (node) => createElement(ConfigProvider, ANTD_CONFIG, node) }));
